/*
 * fuzz_ws_frame.c: the console's WebSocket frame parser (orchestrator/api/
 * console.c, tl_ws_frame_parse) against arbitrary bytes, as the bridge
 * uses it: frames parsed one after the other from a buffer, each complete
 * one unmasked in place. The first byte picks the payload limit so that
 * the fuzzer reaches the "too big" refusals with small inputs. Whatever
 * the input: no crash, no read past the end, a complete frame lies inside
 * the buffer, its header is 6, 8 or 14 bytes, control frames are short
 * and final, and a prefix of the bytes never holds a different frame than
 * the whole (a frame is only consumed once complete).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tssrlabd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	static const size_t limits[] = {0, 1, 125, 126, 65535, 65536, 1u << 20};
	size_t max = limits[data[0] % (sizeof limits / sizeof *limits)];
	size_t len = size - 1;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	size_t off = 0;
	while (off < len) {
		tl_ws_frame f, again;
		/* half the bytes must not disagree with all of them */
		size_t half = (len - off) / 2;
		ssize_t h = tl_ws_frame_parse(buf + off, half, max, &again);
		ssize_t n = tl_ws_frame_parse(buf + off, len - off, max, &f);
		if (n <= 0) {
			/* a prefix of a bad or incomplete frame is never a
			 * complete frame */
			if (h > 0)
				abort();
			break;
		}
		if (h < 0 || (h > 0 && h != n))
			abort(); /* a prefix saw another frame */
		if ((size_t)n > len - off ||
		    f.header_len + f.payload_len != (size_t)n)
			abort();
		if (f.header_len != 6 && f.header_len != 8 &&
		    f.header_len != 14)
			abort();
		if (f.payload_len > max)
			abort();
		if ((f.opcode & 8) && (!f.fin || f.payload_len > 125))
			abort();
		off += (size_t)n;
	}
	uint8_t hdr[10];
	size_t hl = tl_ws_frame_header(hdr, TL_WS_BINARY, len);
	if (hl != 2 && hl != 4 && hl != 10)
		abort();
	free(buf);
	return 0;
}
