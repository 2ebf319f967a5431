/** Azure Functions route templates: literal segments, {name}, {name?} and constraints such as {id:guid}. */
export interface RouteTemplate {
  template: string;
  match(path: string): Record<string, string> | null;
}

const CONSTRAINTS: Record<string, RegExp> = {
  guid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu,
  int: /^-?\d+$/u,
  alpha: /^[a-z]+$/iu,
};

export function compileRoute(template: string): RouteTemplate {
  const segments = template.split('/').filter(Boolean).map((segment) => {
    const param = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$/u.exec(segment);
    if (!param) return { literal: segment.toLowerCase() };
    const [, catchAll, name = '', constraint, optional] = param;
    return { name, constraint: constraint ? CONSTRAINTS[constraint] : undefined, optional: Boolean(optional), catchAll: Boolean(catchAll) };
  });
  return {
    template,
    match(path) {
      const parts = path.split('/').filter(Boolean);
      const params: Record<string, string> = {};
      for (let index = 0; index < segments.length; index += 1) {
        const segment = segments[index]!;
        const part = parts[index];
        if ('literal' in segment) {
          if (part === undefined || decodeURIComponent(part).toLowerCase() !== segment.literal) return null;
          continue;
        }
        if (segment.catchAll) {
          params[segment.name] = parts.slice(index).map(decodeURIComponent).join('/');
          return params;
        }
        if (part === undefined) {
          if (segment.optional) continue;
          return null;
        }
        let value: string;
        try {
          value = decodeURIComponent(part);
        } catch {
          return null;
        }
        if (segment.constraint && !segment.constraint.test(value)) return null;
        params[segment.name] = value;
      }
      return parts.length <= segments.length ? params : null;
    },
  };
}
