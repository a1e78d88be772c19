// SPDX-License-Identifier: MIT
/*
 * Rewrites the generated blocks of docs/ from the lists in include/reqvisor.
 * Usage: gen-docs DOCS_DIR   (meson: ninja -C build update-docs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_tables.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(f);
	fclose(mem);
	return buf;
}

static int regenerate(const char *dir, const struct doc_table *t)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, t->file);
	char *text = slurp(path);
	size_t len;
	const char *block = text ? doc_find_block(text, t->marker, &len) : NULL;

	if (!block) {
		fprintf(stderr, "gen-docs: %s has no generated:%s block\n", path, t->marker);
		free(text);
		return -1;
	}
	FILE *out = fopen(path, "w");

	if (!out) {
		free(text);
		return -1;
	}
	fwrite(text, 1, (size_t)(block - text), out);
	t->write(out);
	fputs(block + len, out);
	free(text);
	return fclose(out);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-docs DOCS_DIR\n");
		return 2;
	}
	int rc = 0;

	for (unsigned i = 0; i < nr_doc_tables; i++)
		rc |= regenerate(argv[1], &doc_tables[i]);
	return rc ? 1 : 0;
}
