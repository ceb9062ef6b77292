/**
 * Checks of what an OpenAPI document says of each answer, shared by the main document's test and
 * the DNS update API's (a listener of its own, with its own document).
 */

interface DocumentedResponse {
  description?: string;
  content?: Record<string, unknown>;
}

/** The part of an OpenAPI document these checks read. */
export type OpenApiAnswers = { paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>> };

/** Each response of the document as `METHOD path status` with what it says. */
function responsesOf(doc: OpenApiAnswers): Array<{ where: string; status: number; response: DocumentedResponse }> {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).flatMap(([method, operation]) =>
      Object.entries(operation.responses).map(([status, response]) => ({ where: `${method.toUpperCase()} ${path} ${status}`, status: Number(status), response })),
    ),
  );
}

/** A JSON answer: listed by its schema alone, or with application/json among its media types. */
function isJson(response: DocumentedResponse): boolean {
  return response.content === undefined || 'application/json' in response.content;
}

/** The answers described by swagger's placeholder "Default Response" (or not at all). */
export function placeholderAnswers(doc: OpenApiAnswers): string[] {
  return responsesOf(doc).filter(({ response }) => !response.description || response.description === 'Default Response').map(({ where }) => where);
}

/**
 * The JSON errors (4xx, 5xx) whose description names no machine code in backticks; a code may
 * have hyphens (Pryv's `invalid-access-token`).
 */
export function errorsWithoutCodes(doc: OpenApiAnswers): string[] {
  return responsesOf(doc)
    .filter(({ status, response }) => status >= 400 && isJson(response) && !/`[a-z][a-z0-9_-]*`/.test(response.description ?? ''))
    .map(({ where, response }) => `${where}: ${response.description}`);
}
