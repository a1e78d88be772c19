/* SPDX-License-Identifier: MIT */
/* A decoded instruction: everything execution needs, nothing re-parsed. */
#ifndef RV_CPU_INSN_H
#define RV_CPU_INSN_H

#include <stdbool.h>
#include <stdint.h>

#define RV_INSN_MAX_LEN 15

/* Opcode maps: index = map * 256 + opcode byte. */
#define MAP_0F	 0x100
#define MAP_0F38 0x200
#define NR_OPS	 0x300

#define RV_NO_REG  0xff
#define RV_RIP_REG 0xfe

struct rv_insn {
	uint16_t op; /* map * 256 + opcode */
	uint8_t len;
	uint8_t opsize;	  /* 1, 2, 4, 8: the "v" (or "b") operand size */
	uint8_t addrsize; /* 4 or 8 */
	uint8_t rex;	  /* the REX byte, or 0 */
	uint8_t rep;	  /* 0, 0xf2, 0xf3 */
	bool lock;
	bool opsize_prefix; /* 0x66 seen */
	uint8_t seg;	    /* 0, or 4 (FS) / 5 (GS): the override that adds a base */
	bool has_modrm;
	uint8_t mod;
	uint8_t reg;   /* ModRM.reg with REX.R (or the low opcode bits + REX.B) */
	uint8_t rm;    /* ModRM.rm with REX.B (register form) */
	uint8_t subop; /* ModRM.reg without REX: group selector */
	/* Memory operand (mod != 3): base + index * scale + disp. */
	uint8_t base;  /* register, RV_RIP_REG, or RV_NO_REG */
	uint8_t index; /* register or RV_NO_REG */
	uint8_t scale;
	int64_t disp;
	uint64_t imm;
	uint64_t imm2; /* ENTER's second immediate */
};

static inline bool insn_is_mem(const struct rv_insn *i)
{
	return i->has_modrm && i->mod != 3;
}

#define RV_DECODE_UNKNOWN  (-1) /* an opcode reqvisor does not know: #UD */
#define RV_DECODE_MORE	   (-2) /* needs more than @avail bytes: fetch the next page */
#define RV_DECODE_TOO_LONG (-3) /* longer than 15 bytes: #GP(0) */

/* Decode the bytes at @bytes (up to @avail of them). Returns 0 or one of the
 * RV_DECODE_ errors. */
int rv_decode(const uint8_t *bytes, unsigned avail, struct rv_insn *insn);

#endif
