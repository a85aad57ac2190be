/*
 * fuzz_api_body.c: the API's request-body validator (orchestrator/api/
 * body.c) against arbitrary bytes, through every schema the API uses. The
 * first byte picks the schema so that the fuzzer explores all of them from
 * one corpus. Whatever the input: no crash, no leak, and either a parsed
 * object or an error with a 4xx status and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tssrlab/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t n = 0;
	while (tl_api_schemas[n])
		n++;
	const tl_api_schema *s = tl_api_schemas[data[0] % n];
	json_t *j = NULL;
	tl_api_error err;
	int rc =
	    tl_api_body_parse((const char *)data + 1, size - 1, s, &j, &err);
	if (rc == 0) {
		if (!json_is_object(j))
			abort();
		json_decref(j);
	} else if (err.status < 400 || err.status > 499 || !err.msg[0]) {
		abort();
	}
	return 0;
}
