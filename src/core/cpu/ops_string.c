// SPDX-License-Identifier: MIT
/*
 * MOVS, STOS, LODS, CMPS, SCAS, with REP/REPE/REPNE. A repeated instruction
 * runs in batches: when the batch ends with iterations left, RIP stays on the
 * instruction and the run loop treats it as a block end, so kicks are seen
 * and a fault in the middle leaves RSI, RDI and RCX describing the progress,
 * exactly as the architecture restarts it.
 */
#include "alu.h"
#include "exec.h"
#include "ops.h"

#define REP_BATCH 4096

struct str {
	unsigned size;
	uint64_t amask; /* address size */
	int64_t step;
};

static uint64_t areg(struct rv_exec *x, const struct str *s, unsigned r)
{
	return x->cpu->gpr[r] & s->amask;
}

/* Advance an index register, keeping it in the address size (a 32-bit
 * register write zero-extends). */
static void advance(struct rv_exec *x, const struct str *s, unsigned r)
{
	x->cpu->gpr[r] = (x->cpu->gpr[r] + (uint64_t)s->step) & s->amask;
}

static uint64_t src_addr(struct rv_exec *x, const struct rv_insn *i, const struct str *s)
{
	uint64_t a = areg(x, s, RV_RSI);

	return a + (i->seg == 4 ? x->cpu->fs_base : i->seg == 5 ? x->cpu->gs_base : 0);
}

/* One iteration; returns OP_OK or a fault. *stop is set by CMPS/SCAS when
 * the REPE/REPNE condition ends the repetition. */
static int iterate(struct rv_exec *x, const struct rv_insn *i, const struct str *s, bool *stop)
{
	unsigned low = i->op & 0xfe;
	uint64_t a, b, flags;
	int rc;

	switch (low) {
	case 0xa4: /* MOVS */
		if ((rc = rv_mem_read(x, src_addr(x, i, s), s->size, &a)) ||
		    (rc = rv_mem_write(x, areg(x, s, RV_RDI), s->size, a)))
			return rc;
		advance(x, s, RV_RSI);
		advance(x, s, RV_RDI);
		return OP_OK;
	case 0xaa: /* STOS */
		if ((rc = rv_mem_write(x, areg(x, s, RV_RDI), s->size, x->cpu->gpr[RV_RAX])))
			return rc;
		advance(x, s, RV_RDI);
		return OP_OK;
	case 0xac: /* LODS */
		if ((rc = rv_mem_read(x, src_addr(x, i, s), s->size, &a)))
			return rc;
		reg_write(x, i, RV_RAX, s->size, a);
		advance(x, s, RV_RSI);
		return OP_OK;
	case 0xa6: /* CMPS: [RSI] - [RDI] */
		if ((rc = rv_mem_read(x, src_addr(x, i, s), s->size, &a)) ||
		    (rc = rv_mem_read(x, areg(x, s, RV_RDI), s->size, &b)))
			return rc;
		advance(x, s, RV_RSI);
		advance(x, s, RV_RDI);
		break;
	default: /* SCAS: rAX - [RDI] */
		if ((rc = rv_mem_read(x, areg(x, s, RV_RDI), s->size, &b)))
			return rc;
		a = x->cpu->gpr[RV_RAX];
		advance(x, s, RV_RDI);
		break;
	}
	flags = rv_flags(x);
	rv_alu(ALU_CMP, a, b, s->size, &flags);
	x->cpu->rflags = flags;
	if (i->rep)
		*stop = (i->rep == 0xf3) != !!(flags & RV_FLAG_ZF);
	return OP_OK;
}

int op_string(struct rv_exec *x, const struct rv_insn *i)
{
	struct str s = { i->opsize, i->addrsize == 4 ? 0xffffffffull : ~0ull, 0 };
	bool stop = false;
	int rc;

	s.step = (x->cpu->rflags & RV_FLAG_DF) ? -(int64_t)s.size : (int64_t)s.size;
	if (!i->rep)
		return iterate(x, i, &s, &stop);
	for (unsigned n = 0; n < REP_BATCH; n++) {
		if (!areg(x, &s, RV_RCX))
			return OP_OK;
		if ((rc = iterate(x, i, &s, &stop)))
			return rc;
		x->cpu->gpr[RV_RCX] = (x->cpu->gpr[RV_RCX] - 1) & s.amask;
		if (stop)
			return OP_OK;
	}
	if (!areg(x, &s, RV_RCX))
		return OP_OK;
	x->next_rip = x->cpu->rip; /* more to do: resume here after the block end */
	return OP_BRANCH;
}
