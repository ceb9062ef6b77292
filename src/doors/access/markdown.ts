import MarkdownIt from 'markdown-it';

/**
 * The app's description, rendered from markdown for the consent page. Raw HTML is off (it shows as
 * text), links may only point to http(s) (no `javascript:`, `data:`...) and open without handing
 * the page to the target, images show as their alt text (nothing is fetched) and headings as bold
 * paragraphs. What comes out is safe to insert unescaped.
 */
const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });
markdown.validateLink = (url: string): boolean => /^https?:\/\//i.test(url.trim());
const defaultLinkOpen = markdown.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
markdown.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('rel', 'noopener noreferrer nofollow');
  tokens[idx]!.attrSet('target', '_blank');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

// Images show as their text: the request's creator writes the description, and a picture fetched
// from anywhere would tell them when and from where the person opened the consent screen (a
// tracking pixel), or paint whatever they like on pairgate's page (a fake "verified" badge).
markdown.renderer.rules.image = (tokens, idx) => markdown.utils.escapeHtml(tokens[idx]!.content);

// Headings show as bold paragraphs: the page's own heading says what is asked, and a description
// with "# Verified by pairgate" made a second one as large as it, in the app's words, on
// pairgate's page.
markdown.renderer.rules.heading_open = () => '<p><strong>';
markdown.renderer.rules.heading_close = () => '</strong></p>\n';

/** Longest description rendered (the rest is cut). */
const MAX_DESCRIPTION = 4000;

/** Renders the app description markdown to safe HTML. */
export function renderDescription(source: string): string {
  return markdown.render(source.slice(0, MAX_DESCRIPTION));
}

/** The description of `clientData` (`clientData['app-web-auth:description'].content`), if it is text. */
export function descriptionOf(clientData: Record<string, unknown> | null): string | undefined {
  const entry = clientData?.['app-web-auth:description'];
  const content = entry && typeof entry === 'object' ? (entry as Record<string, unknown>).content : undefined;
  return typeof content === 'string' && content.trim() ? content : undefined;
}
