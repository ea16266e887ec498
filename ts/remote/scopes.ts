/**
 * What a gateway's credentials allow. A scope is `read` (list, metadata, subscribe,
 * watch), `admin` (everything), or an action on the tasks a pattern covers:
 * `trigger:<pattern>`, `control:<pattern>` (abort, pause, resume) or `serve:<pattern>`.
 *
 * A pattern is `*`, a task name, or a prefix in TaskHub's `noun`, `noun:verb`,
 * `noun/sub:verb` form: `email` covers `email`, `email:send` and `email/bulk:send`, never
 * `emailer:send`; `email/bulk` covers `email/bulk:send` only. Constraint groups are not
 * tasks: pausing one needs `control:*` (it holds back any task) or `admin`.
 */
export type TScopedAction = 'trigger' | 'control' | 'serve';

/** Everything a connection may be asked to do, for `allows`. */
export type TAction = 'read' | TScopedAction;

const SCOPED: readonly string[] = ['trigger', 'control', 'serve'];

/** What is wrong with `scope`, or undefined when it is one of the forms above. */
export function scopeProblem(scope: unknown): string | undefined {
  if (typeof scope !== 'string' || scope.length === 0) return 'a scope must be a non-empty string';
  if (scope === 'read' || scope === 'admin') return undefined;
  const colon = scope.indexOf(':');
  const action = colon < 0 ? scope : scope.slice(0, colon);
  if (!SCOPED.includes(action)) {
    return `unknown scope ${JSON.stringify(scope)} (scopes are read, admin, trigger:<pattern>, control:<pattern>, serve:<pattern>)`;
  }
  if (colon < 0 || colon === scope.length - 1) return `scope ${JSON.stringify(scope)} needs a pattern: ${action}:<task name, prefix or *>`;
  return undefined;
}

/** Whether `pattern` covers the task `taskName` (see the forms above). */
export function patternCovers(pattern: string, taskName: string): boolean {
  if (pattern === '*' || pattern === taskName) return true;
  if (!taskName.startsWith(pattern)) return false;
  const next = taskName[pattern.length];
  return next === ':' || next === '/';
}

/** Whether `scopes` allow `action` (on `taskName`, for the scoped actions; `*` stands for every task). */
export function allows(scopes: readonly string[], action: TAction, taskName = '*'): boolean {
  for (const scope of scopes) {
    if (scope === 'admin') return true;
    if (action === 'read') {
      if (scope === 'read') return true;
      continue;
    }
    if (!scope.startsWith(action) || scope[action.length] !== ':') continue;
    const pattern = scope.slice(action.length + 1);
    if (taskName === '*' ? pattern === '*' : patternCovers(pattern, taskName)) return true;
  }
  return false;
}

/** The scope that would allow `action` on `taskName`, for a refusal's message. */
export function scopeFor(action: TAction, taskName = '*'): string {
  return action === 'read' ? 'read' : `${action}:${taskName}`;
}
