/*
 * replay.c: runs a fuzz target over files and folders given on the command
 * line (its corpus and every saved crash), as an ordinary sanitized test —
 * systemd's fuzzers-as-regression-tests idea.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tssrlab/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	tl_error err;
	size_t len = 0;
	char *text = tl_file_read(path, 16u << 20, &len, &err);
	if (!text) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)text, len);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: not found\n", argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += run_file(argv[i]) < 0;
			n++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *p = tl_xasprintf("%s/%s", argv[i], e->d_name);
			bad += run_file(p) < 0;
			n++;
			free(p);
		}
		if (d)
			closedir(d);
	}
	printf("replayed %d inputs, %d unreadable\n", n, bad);
	return bad || n == 0 ? 1 : 0;
}
