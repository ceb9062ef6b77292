/**
 * Every ASCII punctuation character but the hyphen: CommonMark, and Mattermost's renderer with it,
 * shows any of them as written when a backslash comes first. The hyphen means something only at a
 * line's start (a list item, a rule), where no name is put, so a pairgate username (letters,
 * digits and hyphens) reads in the text as it is written.
 */
const MARKDOWN_SPECIAL = /[!-,./:-@[-`{-~]/g;

/**
 * `name` (an organization's name, a pairgate username) written so that Mattermost, which renders
 * a call response's text as markdown, shows it as written: a name such as `[Sign in](https://…)`,
 * `![](https://…)` or `**urgent**` in "Installed and linked with organization …" made a link, an
 * image fetched by every reader's client, or bold text of pairgate's answer. Dots, colons and `@`
 * are escaped too, so a name that looks like an address or a mention is neither linked nor
 * highlighted.
 */
export function escapeMarkdown(name: string): string {
  return name.replace(MARKDOWN_SPECIAL, (character) => `\\${character}`);
}
