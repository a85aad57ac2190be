/*
 * pwsh.c: the PowerShell half of the batch compiler. A Windows batch is
 * agents/windows/agent.ps1 followed by
 *     Tl-Begin 'NONCE' VALUE_CAP OUTPUT_CAP
 *     Tl-P INDEX TIMEOUT_S 'kind' ARG ARG ...
 *     Tl-End COUNT
 * where a string argument is a single-quoted PowerShell literal, a list is
 * @('a','b'), an absent optional argument is $null, a boolean $true or
 * $false. Inside single quotes PowerShell expands nothing; the only
 * character to escape is the quote itself, by doubling it, and PowerShell
 * counts the typographic quotes U+2018 to U+201B as quotes too (a French
 * scenario writes "l’OU"): they are doubled as well.
 */
#include <string.h>

#include "probe-internal.h"

void tl_pwsh_quote(tl_buf *b, const char *s)
{
	tl_buf_puts(b, "'");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\'') {
			tl_buf_puts(b, "''");
		} else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x98 &&
			   p[2] <= 0x9b) {
			/* U+2018..U+201B: write it twice */
			tl_buf_append(b, p, 3);
			tl_buf_append(b, p, 3);
			p += 2;
		} else {
			tl_buf_append(b, p, 1);
		}
	}
	tl_buf_puts(b, "'");
}

int tl_pwsh_probe_line(tl_buf *script, size_t i, const tl_probe *p,
		       tl_error *err)
{
	if (p->kind->site != TL_SITE_WINDOWS)
		return tl_error_set(err,
				    "probe %zu (%s) has no PowerShell "
				    "implementation",
				    i, p->kind->name);
	tl_probe_argv a;
	tl_probe_argv_init(&a, p);
	tl_buf_printf(script, "Tl-P %zu %d ", i,
		      p->timeout_s > 0 ? p->timeout_s : 10);
	tl_pwsh_quote(script, p->kind->name);
	for (size_t k = 0; k < a.n; k++) {
		tl_buf_puts(script, " ");
		const tl_probe_arg *d = &p->kind->args[k];
		if (!a.present[k]) {
			tl_buf_puts(script, "$null");
		} else if (d->type == TL_ARG_STRLIST && a.lists[k]) {
			tl_buf_puts(script, "@(");
			size_t j;
			json_t *e;
			json_array_foreach (a.lists[k], j, e) {
				if (j)
					tl_buf_puts(script, ",");
				tl_pwsh_quote(script, json_is_string(e)
							  ? json_string_value(e)
							  : "");
			}
			tl_buf_puts(script, ")");
		} else if (d->type == TL_ARG_BOOL) {
			tl_buf_puts(script, strcmp(a.argv[k], "1") ? "$false"
								   : "$true");
		} else {
			tl_pwsh_quote(script, a.argv[k]);
		}
	}
	tl_buf_puts(script, "\n");
	tl_probe_argv_clear(&a);
	return 0;
}
