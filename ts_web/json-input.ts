/**
 * The trigger dialog's input: JSON text, checked before anything is sent. Empty (or only
 * blanks) means no input (`undefined`), which JSON itself cannot say.
 */
export function parseJsonInput(text: string): { value: unknown; error: string | undefined } {
  if (text.trim() === '') return { value: undefined, error: undefined };
  try {
    return { value: JSON.parse(text) as unknown, error: undefined };
  } catch (error) {
    return { value: undefined, error: `not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}
