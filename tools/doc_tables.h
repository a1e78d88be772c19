/* SPDX-License-Identifier: MIT */
/* Tables of docs/ generated from the .def lists in include/reqvisor. */
#ifndef RV_TOOLS_DOC_TABLES_H
#define RV_TOOLS_DOC_TABLES_H

#include <stdio.h>

struct doc_table {
	const char *file;   /* under docs/ */
	const char *marker; /* <!-- generated:MARKER --> ... <!-- end generated --> */
	void (*write)(FILE *out);
};

extern const struct doc_table doc_tables[];
extern const unsigned nr_doc_tables;

/* The generated block of @marker in @text, or NULL; *len gets its length. */
const char *doc_find_block(const char *text, const char *marker, size_t *len);

#endif
