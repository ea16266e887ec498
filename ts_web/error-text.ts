/** An error's message for the page: an Error's `message`, else the value as text (never throws, whatever was thrown). */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return 'an error that cannot be shown as text';
  }
}
