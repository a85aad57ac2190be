/*
 * replay.c: runs a fuzz target over files and folders given on the command
 * line (its corpus and every saved crash) as an ordinary sanitized test —
 * systemd's fuzzers-as-regression-tests idea — ending with "N passed,
 * N failed". An input passes when the target returns; a target that finds a
 * violated invariant aborts, which fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tssrlab/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed, failed;

static void run_file(const char *path)
{
	tl_error err;
	size_t len = 0;
	char *text = tl_file_read(path, 16u << 20, &len, &err);
	if (!text) {
		fprintf(stderr, "%s\n", err.msg);
		failed++;
		return;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)text, len);
	free(text);
	passed++;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: not found\n", argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			run_file(argv[i]);
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *p = tl_xasprintf("%s/%s", argv[i], e->d_name);
			run_file(p);
			free(p);
		}
		if (d)
			closedir(d);
	}
	if (passed + failed == 0)
		failed++; /* an empty corpus is a broken test */
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
