// SPDX-License-Identifier: MIT
/* docs/ must say what the lists in include/reqvisor say. */
#include <stdio.h>
#include <string.h>

#include "doc_tables.h"
#include "helpers.h"

static char *read_doc(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/docs/%s", RV_SOURCE_ROOT, name);
	FILE *f = fopen(path, "r");

	ck_assert_msg(f, "cannot open %s", path);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);

	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(generated_tables_are_current)
{
	for (unsigned i = 0; i < nr_doc_tables; i++) {
		const struct doc_table *t = &doc_tables[i];
		const char *text = read_doc(t->file);
		size_t len;
		const char *block = doc_find_block(text, t->marker, &len);
		char *want = NULL;
		size_t want_len = 0;
		FILE *mem = open_memstream(&want, &want_len);

		ck_assert_msg(block, "docs/%s has no generated:%s block", t->file, t->marker);
		t->write(mem);
		fclose(mem);
		ck_assert_msg(len == want_len && !memcmp(block, want, len),
			      "docs/%s is stale: run `ninja -C build update-docs`", t->file);
		free(want);
	}
}
END_TEST

static Suite *docs_suite(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("generated");

	tcase_add_test(tc, generated_tables_are_current);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(docs_suite());
}
