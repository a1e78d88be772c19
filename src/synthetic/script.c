// SPDX-License-Identifier: MIT
/* Compiling synthetic-guest scripts (syntax in include/reqvisor/synthetic.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "reqvisor/request.h"
#include "script.h"

#define MAX_INSNS 1024

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);

	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_request(const char *name, uint32_t *req)
{
	for (unsigned nr = 0; name && nr < RV_NR_REQUESTS; nr++) {
		if (!strcmp(name, rv_request_name(nr))) {
			*req = nr | rv_request_flags(nr);
			return 0;
		}
	}
	return -1;
}

/* TARGETS: all | next | prev | vcpu K | random K. */
static int parse_target(char **tok, int ntok, struct syn_insn *in, int allow_set)
{
	static const char *const names[] = { "all", "next", "prev", "vcpu", "random" };

	if (ntok < 1)
		return -1;
	for (int t = 0; t < 5; t++) {
		if (strcmp(tok[0], names[t]))
			continue;
		if (!allow_set && (t == TGT_ALL || t == TGT_RANDOM))
			return -1;
		in->target = (uint8_t)t;
		if (t == TGT_VCPU || t == TGT_RANDOM)
			return ntok == 2 ? parse_u32(tok[1], &in->arg) : -1;
		return ntok == 1 ? 0 : -1;
	}
	return -1;
}

static int parse_insn(char **tok, int ntok, struct syn_insn *in)
{
	const char *op = tok[0];

	memset(in, 0, sizeof(*in));
	if (!strcmp(op, "run") || !strcmp(op, "walk")) {
		in->op = op[0] == 'r' ? SYN_RUN : SYN_WALK;
		return ntok == 2 && !parse_u32(tok[1], &in->arg) && in->arg ? 0 : -1;
	}
	if (!strcmp(op, "post")) {
		in->op = SYN_POST;
		return ntok >= 3 && !parse_request(tok[1], &in->req)
			       ? parse_target(tok + 2, ntok - 2, in, 1)
			       : -1;
	}
	if (!strcmp(op, "wake")) {
		in->op = SYN_WAKE;
		return parse_target(tok + 1, ntok - 1, in, 0);
	}
	if (!strcmp(op, "halt") || !strcmp(op, "exit")) {
		in->op = op[0] == 'h' ? SYN_HALT : SYN_EXIT;
		return ntok == 1 ? 0 : -1;
	}
	return -1;
}

static int split(char *s, char **tok, int max)
{
	int n = 0;

	for (char *save = NULL, *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		if (n < max)
			tok[n++] = t;
		else
			return -1;
	return n;
}

struct syn_program *syn_compile(const char *text, char *err, size_t errlen)
{
	struct syn_program *p = rv_calloc(1, sizeof(*p) + MAX_INSNS * sizeof(p->insn[0]));
	char *copy = rv_strdup(text ? text : "");
	char *save = NULL;

	if (!p || !copy) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (char *line = strtok_r(copy, ";\n", &save); line; line = strtok_r(NULL, ";\n", &save)) {
		char shown[64];
		char *tok[4];

		snprintf(shown, sizeof(shown), "%s", line + strspn(line, " \t"));
		int ntok = split(line, tok, 4);

		if (ntok == 0)
			continue;
		if (p->len == MAX_INSNS) {
			snprintf(err, errlen, "script: more than %d ops", MAX_INSNS);
			goto fail;
		}
		if (ntok < 0 || parse_insn(tok, ntok, &p->insn[p->len])) {
			snprintf(err, errlen, "script: cannot parse '%s'", shown);
			goto fail;
		}
		p->len++;
	}
	if (!p->len) {
		snprintf(err, errlen, "script: empty");
		goto fail;
	}
	free(copy);
	return p;
fail:
	free(copy);
	free(p);
	return NULL;
}
