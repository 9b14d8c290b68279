/**
 * Parses a 48-bit MAC in any form Go's net.ParseMAC accepts for 6 bytes (colon, dash or dot
 * notation, any case) and returns it in flannel's wire form: lowercase, colon-separated.
 * HNS reports DR MACs in dash form ("00-15-5D-0A-0B-0C"); leases carry the colon form.
 */
export function normalizeMac(text: string): string | undefined {
  let hex: string;
  if (/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(text)) {
    hex = text.replace(/[:-]/g, '');
  } else if (/^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(text)) {
    hex = text.replace(/\./g, '');
  } else {
    return undefined;
  }
  return hex.toLowerCase().match(/../g)!.join(':');
}

/** HNS's dash form, upper case, as HNS itself prints MACs. */
export function toHnsMac(text: string): string | undefined {
  return normalizeMac(text)?.replace(/:/g, '-').toUpperCase();
}
