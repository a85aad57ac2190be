/*
 * fuzz_defs.c: libFuzzer target for the definitions loader. The first byte
 * of an input picks the kind of file (referential, image, lab, scenario);
 * the rest is the file's text, checked against the shipped definitions so
 * that reference resolution is exercised too. The loader must never crash,
 * leak or read out of bounds, whatever the text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tssrlab/defs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tl_defs *base_defs(void)
{
	static tl_defs *base;
	static int tried;
	if (!tried) {
		tried = 1;
		tl_diags d = {0};
		const char *root = getenv("TSSRLAB_DATADIR");
		base = tl_defs_load(root ? root : TL_SOURCE_ROOT, NULL, 0, &d);
		tl_diags_clear(&d);
	}
	return base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"referential", "image", "lab",
					    "scenario"};
	if (size < 1)
		return 0;
	tl_diags d = {0};
	tl_defs_check_text(base_defs(), kinds[data[0] % 4], "fuzz.json",
			   (const char *)data + 1, size - 1, &d);
	for (size_t i = 0; i < d.n; i++)
		free(tl_diag_format(&d.items[i]));
	tl_diags_clear(&d);
	return 0;
}
