/*
 * fuzz_agent_output.c: fuzz target for the agent-output parser
 * (orchestrator/probe/agent_output.c), the code that reads what a
 * trainee-controlled machine printed. The input is taken as the whole
 * stdout of an agent run for a fixed batch of three probes (nonce
 * 0123456789abcdef0123456789abcdef) checked against a fixed hashes.json.
 * Besides not crashing, every result must be well-formed: a status in
 * range, an error message for ERROR and TAMPERED, a value for DONE, every
 * text valid UTF-8, and a whole batch TAMPERED as soon as one result is. Seeds
 * are in tests/fuzz/corpus/agent/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tssrlab/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tl_probe *probes[3];
static tl_probe_batch batch;
static tl_probe_hashes *hashes;

static tl_probe *make(const char *kind, const char *args)
{
	tl_probe *p = tl_xcalloc(1, sizeof *p);
	p->kind = tl_probe_kind_find(kind);
	p->kind_name = tl_xstrdup(kind);
	p->machine = tl_xstrdup("srv");
	p->args = json_loads(args, 0, NULL);
	p->timeout_s = 5;
	return p;
}

static void setup(void)
{
	if (probes[0])
		return;
	probes[0] = make("sysctl.value", "{\"key\":\"kernel.ostype\"}");
	probes[1] = make("file.exists", "{\"path\":\"/etc/passwd\"}");
	probes[2] = make("command.run", "{\"command\":\"printf x\"}");
	tl_probe_batch_opts o = {.nonce = "0123456789abcdef0123456789abcdef",
				 .hash = true};
	tl_error err;
	if (tl_probe_batch_compile(&batch, probes, 3, &o, &err) < 0)
		abort();
	static const char h[] =
	    "{\"/bin/sh\": \"f5adb8bf0100ed0f8c7782ca5f92814e9229525a4b4e0d4"
	    "01cf3bea09ac960a6\", \"/usr/bin/stat\": \"98fd8d3f1823896aa261"
	    "3a4d38e7059c82506206725918666091d08272d78e95\"}";
	hashes = tl_probe_hashes_from_json(h, strlen(h), &err);
	if (!hashes)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	tl_probe_result r[3];
	tl_probe_batch_parse(&batch, (const char *)data, size, hashes, r);
	bool tampered = false;
	for (int i = 0; i < 3; i++) {
		if (r[i].probe != probes[i] ||
		    r[i].status > TL_PROBE_TAMPERED ||
		    (r[i].status != TL_PROBE_DONE &&
		     (!r[i].error || r[i].ok)) ||
		    (r[i].status == TL_PROBE_DONE && !r[i].value))
			abort();
		tampered |= r[i].status == TL_PROBE_TAMPERED;
	}
	for (int i = 0; i < 3; i++) {
		if (tampered && r[i].status != TL_PROBE_TAMPERED)
			abort(); /* a batch is trusted as a whole or not */
		/* every text goes into JSON later: it must be UTF-8 */
		const char *texts[] = {r[i].value, r[i].evidence_cmd,
				       r[i].evidence_out, r[i].error};
		for (int k = 0; k < 4; k++) {
			if (!texts[k])
				continue;
			json_t *j = json_string(texts[k]);
			if (!j)
				abort();
			json_decref(j);
		}
		tl_probe_result_clear(&r[i]);
	}
	return 0;
}
