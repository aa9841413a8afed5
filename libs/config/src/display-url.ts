/**
 * A connection URL as it may be shown in messages and logs: user name, password, query and fragment removed (a query
 * may carry a password too). Several URLs separated by commas (a list of broker nodes) are each shown that way; text
 * that is not a URL is shown as "(unparsable URL)" since it could hold a secret in any position.
 */
export function urlWithoutCredentials(text: string): string {
  return text
    .split(',')
    .map((one) => {
      try {
        const url = new URL(one.trim());
        url.username = '';
        url.password = '';
        url.search = '';
        url.hash = '';
        return url.href;
      } catch {
        return '(unparsable URL)';
      }
    })
    .join(',');
}
