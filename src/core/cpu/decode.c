// SPDX-License-Identifier: MIT
/*
 * The x86-64 decoder: prefixes, REX, opcode maps 1-3, ModRM, SIB,
 * displacement and immediate, into struct rv_insn. Which opcodes exist and
 * what follows them is one attribute table; execution is another file's job.
 */
#include <string.h>

#include "insn.h"

#define RV_RSP_INDEX 4 /* SIB index 100b without REX.X: no index */

/* Attribute bits of an opcode. */
#define A_VALID	    (1u << 0)
#define A_MODRM	    (1u << 1)
#define A_BYTE	    (1u << 2) /* operands are bytes */
#define A_D64	    (1u << 3) /* operand size defaults to 64 in long mode */
#define A_IMM_SHIFT 4
#define A_IMM_MASK  (15u << A_IMM_SHIFT)

enum imm_kind {
	IMM_NONE,
	IMM_B,	   /* 1 byte, sign-extended */
	IMM_W,	   /* 2 bytes, zero-extended */
	IMM_Z,	   /* 2 bytes with a 16-bit operand, else 4 sign-extended */
	IMM_V,	   /* 2, 4 or 8 bytes by operand size (MOV r, imm) */
	IMM_WB,	   /* ENTER: 2 bytes then 1 */
	IMM_GROUP, /* F6/F7: only /0 and /1 (TEST) take one */
	IMM_MOFFS, /* A0-A3: an address-size offset */
	IMM_D,	   /* near branches: 4 bytes, sign-extended (66 is ignored) */
};

#define IMM(k) ((k) << A_IMM_SHIFT)
#define M      (A_VALID | A_MODRM)
#define N      A_VALID
#define MB     (M | A_BYTE)
#define NB     (N | A_BYTE)

/* Eight ALU ops share one layout: Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib rAX,Iz. */
#define ALU_ROW(base)                                                             \
	[(base) + 0] = MB, [(base) + 1] = M, [(base) + 2] = MB, [(base) + 3] = M, \
		  [(base) + 4] = NB | IMM(IMM_B), [(base) + 5] = N | IMM(IMM_Z)

#define RANGE8(base, attr)                                                             \
	[(base) + 0] = (attr), [(base) + 1] = (attr), [(base) + 2] = (attr),           \
		  [(base) + 3] = (attr), [(base) + 4] = (attr), [(base) + 5] = (attr), \
		  [(base) + 6] = (attr), [(base) + 7] = (attr)

static const uint8_t attrs[NR_OPS] = {
	ALU_ROW(0x00),
	ALU_ROW(0x08),
	ALU_ROW(0x10),
	ALU_ROW(0x18),
	ALU_ROW(0x20),
	ALU_ROW(0x28),
	ALU_ROW(0x30),
	ALU_ROW(0x38),
	RANGE8(0x50, N | A_D64),
	RANGE8(0x58, N | A_D64),
	[0x63] = M,			 /* MOVSXD */
	[0x68] = N | A_D64 | IMM(IMM_Z), /* PUSH Iz */
	[0x69] = M | IMM(IMM_Z),	 /* IMUL Gv,Ev,Iz */
	[0x6a] = N | A_D64 | IMM(IMM_B), /* PUSH Ib */
	[0x6b] = M | IMM(IMM_B),	 /* IMUL Gv,Ev,Ib */
	RANGE8(0x70, N | A_D64 | IMM(IMM_B)),
	RANGE8(0x78, N | A_D64 | IMM(IMM_B)),
	[0x80] = MB | IMM(IMM_B),
	[0x81] = M | IMM(IMM_Z),
	[0x83] = M | IMM(IMM_B),
	[0x84] = MB,
	[0x85] = M,
	[0x86] = MB,
	[0x87] = M, /* TEST, XCHG */
	[0x88] = MB,
	[0x89] = M,
	[0x8a] = MB,
	[0x8b] = M,	    /* MOV */
	[0x8d] = M,	    /* LEA */
	[0x8f] = M | A_D64, /* POP Ev */
	RANGE8(0x90, N),    /* NOP, XCHG rAX */
	[0x98] = N,
	[0x99] = N, /* CBW.., CWD.. */
	[0x9c] = N | A_D64,
	[0x9d] = N | A_D64, /* PUSHF, POPF */
	[0x9e] = N,
	[0x9f] = N, /* SAHF, LAHF */
	[0xa0] = NB | IMM(IMM_MOFFS),
	[0xa1] = N | IMM(IMM_MOFFS),
	[0xa2] = NB | IMM(IMM_MOFFS),
	[0xa3] = N | IMM(IMM_MOFFS),
	[0xa4] = NB,
	[0xa5] = N,
	[0xa6] = NB,
	[0xa7] = N, /* MOVS, CMPS */
	[0xa8] = NB | IMM(IMM_B),
	[0xa9] = N | IMM(IMM_Z), /* TEST */
	[0xaa] = NB,
	[0xab] = N,
	[0xac] = NB,
	[0xad] = N, /* STOS, LODS */
	[0xae] = NB,
	[0xaf] = N, /* SCAS */
	RANGE8(0xb0, NB | IMM(IMM_B)),
	RANGE8(0xb8, N | IMM(IMM_V)),
	[0xc0] = MB | IMM(IMM_B),
	[0xc1] = M | IMM(IMM_B), /* shift group */
	[0xc2] = N | A_D64 | IMM(IMM_W),
	[0xc3] = N | A_D64, /* RET */
	[0xc6] = MB | IMM(IMM_B),
	[0xc7] = M | IMM(IMM_Z), /* MOV E, I */
	[0xc8] = N | A_D64 | IMM(IMM_WB),
	[0xc9] = N | A_D64, /* ENTER, LEAVE */
	[0xcc] = N,
	[0xcd] = N | IMM(IMM_B),
	[0xcf] = N, /* INT3, INT, IRET */
	[0xd0] = MB,
	[0xd1] = M,
	[0xd2] = MB,
	[0xd3] = M, /* shift group */
	[0xe0] = N | A_D64 | IMM(IMM_B),
	[0xe1] = N | A_D64 | IMM(IMM_B),
	[0xe2] = N | A_D64 | IMM(IMM_B),
	[0xe3] = N | A_D64 | IMM(IMM_B),
	[0xe4] = NB | IMM(IMM_B),
	[0xe5] = N | IMM(IMM_B), /* IN imm */
	[0xe6] = NB | IMM(IMM_B),
	[0xe7] = N | IMM(IMM_B), /* OUT imm */
	[0xe8] = N | A_D64 | IMM(IMM_D),
	[0xe9] = N | A_D64 | IMM(IMM_D),
	[0xeb] = N | A_D64 | IMM(IMM_B),
	[0xec] = NB,
	[0xed] = N,
	[0xee] = NB,
	[0xef] = N, /* IN/OUT DX */
	[0xf4] = N,
	[0xf5] = N, /* HLT, CMC */
	[0xf6] = MB | IMM(IMM_GROUP),
	[0xf7] = M | IMM(IMM_GROUP),
	[0xf8] = N,
	[0xf9] = N,
	[0xfa] = N,
	[0xfb] = N,
	[0xfc] = N,
	[0xfd] = N,
	[0xfe] = MB,
	[0xff] = M,

	[MAP_0F + 0x01] = M,	  /* group 7 */
	[MAP_0F + 0x09] = N,	  /* WBINVD */
	[MAP_0F + 0x0b] = N,	  /* UD2 */
	[MAP_0F + 0x0d] = M,	  /* prefetch hints */
	RANGE8(MAP_0F + 0x18, M), /* hint NOPs */
	[MAP_0F + 0x20] = M,
	[MAP_0F + 0x22] = M, /* MOV CR */
	[MAP_0F + 0x30] = N,
	[MAP_0F + 0x31] = N,
	[MAP_0F + 0x32] = N,
	RANGE8(MAP_0F + 0x40, M),
	RANGE8(MAP_0F + 0x48, M), /* CMOVcc */
	RANGE8(MAP_0F + 0x80, N | A_D64 | IMM(IMM_D)),
	RANGE8(MAP_0F + 0x88, N | A_D64 | IMM(IMM_D)),
	RANGE8(MAP_0F + 0x90, MB),
	RANGE8(MAP_0F + 0x98, MB), /* SETcc */
	[MAP_0F + 0xa2] = N,	   /* CPUID */
	[MAP_0F + 0xa3] = M,	   /* BT */
	[MAP_0F + 0xa4] = M | IMM(IMM_B),
	[MAP_0F + 0xa5] = M, /* SHLD */
	[MAP_0F + 0xab] = M, /* BTS */
	[MAP_0F + 0xac] = M | IMM(IMM_B),
	[MAP_0F + 0xad] = M, /* SHRD */
	[MAP_0F + 0xae] = M, /* fences, CLFLUSH */
	[MAP_0F + 0xaf] = M, /* IMUL Gv,Ev */
	[MAP_0F + 0xb0] = MB,
	[MAP_0F + 0xb1] = M, /* CMPXCHG */
	[MAP_0F + 0xb3] = M, /* BTR */
	[MAP_0F + 0xb6] = M,
	[MAP_0F + 0xb7] = M,		  /* MOVZX: source size by opcode */
	[MAP_0F + 0xb8] = M,		  /* POPCNT (F3) */
	[MAP_0F + 0xba] = M | IMM(IMM_B), /* BT group */
	[MAP_0F + 0xbb] = M,		  /* BTC */
	[MAP_0F + 0xbc] = M,
	[MAP_0F + 0xbd] = M, /* BSF/TZCNT, BSR/LZCNT */
	[MAP_0F + 0xbe] = M,
	[MAP_0F + 0xbf] = M, /* MOVSX: source size by opcode */
	[MAP_0F + 0xc0] = MB,
	[MAP_0F + 0xc1] = M,	  /* XADD */
	[MAP_0F + 0xc7] = M,	  /* group 9: CMPXCHG8B/16B */
	RANGE8(MAP_0F + 0xc8, N), /* BSWAP */

	[MAP_0F + 0x78] = M,   /* VMREAD */
	[MAP_0F + 0x79] = M,   /* VMWRITE */
	[MAP_0F38 + 0x80] = M, /* INVEPT (66) */
	[MAP_0F38 + 0x81] = M, /* INVVPID (66) */
	[MAP_0F38 + 0x82] = M, /* INVPCID (66) */
};

struct cursor {
	const uint8_t *p;
	unsigned pos, avail;
};

static int take(struct cursor *c, unsigned n, uint64_t *v)
{
	if (c->pos + n > c->avail)
		return -2;
	uint64_t x = 0;

	for (unsigned k = 0; k < n; k++)
		x |= (uint64_t)c->p[c->pos + k] << (8 * k);
	c->pos += n;
	*v = x;
	return 0;
}

static int64_t sext(uint64_t v, unsigned bytes)
{
	unsigned shift = 64 - 8 * bytes;

	return (int64_t)(v << shift) >> shift;
}

/* Apply a legacy prefix; false when @b is not one. */
static bool legacy_prefix(uint8_t b, struct rv_insn *i)
{
	switch (b) {
	case 0x66:
		i->opsize_prefix = true;
		return true;
	case 0x67:
		i->addrsize = 4;
		return true;
	case 0xf0:
		i->lock = true;
		return true;
	case 0xf2:
	case 0xf3:
		i->rep = b;
		return true;
	case 0x64:
	case 0x65:
		i->seg = b - 0x60;
		return true;
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
		return true; /* null segment overrides in 64-bit mode */
	default:
		return false;
	}
}

/* Prefixes, leaving the cursor on the opcode. A REX counts only when it is
 * the last prefix; one followed by a legacy prefix is ignored. */
static int prefixes(struct cursor *c, struct rv_insn *i)
{
	for (;; c->pos++) {
		if (c->pos >= c->avail)
			return -2;
		uint8_t b = c->p[c->pos];

		if ((b & 0xf0) == 0x40) {
			i->rex = b;
			continue;
		}
		if (!legacy_prefix(b, i))
			return 0;
		i->rex = 0;
	}
}

static int opcode(struct cursor *c, struct rv_insn *i)
{
	uint64_t b;

	if (take(c, 1, &b))
		return -2;
	if (b != 0x0f) {
		i->op = (uint16_t)b;
		return 0;
	}
	if (take(c, 1, &b))
		return -2;
	if (b == 0x38) {
		if (take(c, 1, &b))
			return -2;
		i->op = MAP_0F38 + (uint16_t)b;
		return 0;
	}
	i->op = MAP_0F + (uint16_t)b;
	return 0;
}

static void operand_size(struct rv_insn *i, unsigned attr)
{
	if (attr & A_BYTE)
		i->opsize = 1;
	else if (i->rex & 8)
		i->opsize = 8;
	else if (i->opsize_prefix)
		i->opsize = 2;
	else
		i->opsize = (attr & A_D64) ? 8 : 4;
}

static int sib(struct cursor *c, struct rv_insn *i, unsigned *disp_bytes)
{
	uint64_t b;

	if (take(c, 1, &b))
		return -2;
	unsigned index = ((b >> 3) & 7) | ((i->rex & 2) << 2);

	i->scale = (uint8_t)(1u << (b >> 6));
	i->index = index == RV_RSP_INDEX ? RV_NO_REG : (uint8_t)index;
	/* Base 101b with mod 0: no base register, a disp32 follows. */
	if ((b & 7) == 5 && i->mod == 0) {
		i->base = RV_NO_REG;
		*disp_bytes = 4;
	} else {
		i->base = (uint8_t)((b & 7) | ((i->rex & 1) << 3));
	}
	return 0;
}

static int modrm(struct cursor *c, struct rv_insn *i)
{
	uint64_t b;

	if (take(c, 1, &b))
		return -2;
	i->mod = b >> 6;
	i->subop = (b >> 3) & 7;
	i->reg = i->subop | ((i->rex & 4) << 1);
	i->rm = (b & 7) | ((i->rex & 1) << 3);
	if (i->mod == 3)
		return 0;
	unsigned disp_bytes = i->mod == 1 ? 1 : i->mod == 2 ? 4 : 0;

	i->index = RV_NO_REG;
	i->scale = 1;
	i->base = i->rm;
	if ((b & 7) == 4) {
		if (sib(c, i, &disp_bytes))
			return -2;
	} else if ((b & 7) == 5 && i->mod == 0) {
		i->base = RV_RIP_REG;
		disp_bytes = 4;
	}
	if (disp_bytes && take(c, disp_bytes, &b))
		return -2;
	i->disp = disp_bytes ? sext(b, disp_bytes) : 0;
	return 0;
}

static unsigned imm_bytes(const struct rv_insn *i, unsigned kind)
{
	switch (kind) {
	case IMM_B:
		return 1;
	case IMM_W:
		return 2;
	case IMM_Z:
		return i->opsize == 2 ? 2 : i->opsize == 1 ? 1 : 4;
	case IMM_V:
		return i->opsize;
	case IMM_GROUP:
		return i->subop <= 1 ? (i->opsize == 8 ? 4 : i->opsize) : 0;
	case IMM_MOFFS:
		return i->addrsize;
	case IMM_D:
		return 4;
	default:
		return 0;
	}
}

static int immediate(struct cursor *c, struct rv_insn *i, unsigned kind)
{
	uint64_t v;

	if (kind == IMM_WB) {
		if (take(c, 2, &i->imm) || take(c, 1, &i->imm2))
			return -2;
		return 0;
	}
	unsigned n = imm_bytes(i, kind);

	if (!n)
		return 0;
	if (take(c, n, &v))
		return -2;
	/* Byte and "z" immediates are sign-extended to the operand size;
	 * word immediates (RET, ENTER) and offsets are not. */
	i->imm = (kind == IMM_W || kind == IMM_MOFFS || kind == IMM_V) ? v : (uint64_t)sext(v, n);
	return 0;
}

int rv_decode(const uint8_t *bytes, unsigned avail, struct rv_insn *i)
{
	struct cursor c = { bytes, 0, avail < RV_INSN_MAX_LEN ? avail : RV_INSN_MAX_LEN };
	int rc;

	memset(i, 0, sizeof(*i));
	i->addrsize = 8;
	if ((rc = prefixes(&c, i)) || (rc = opcode(&c, i)))
		return rc == -2 && avail >= RV_INSN_MAX_LEN ? RV_DECODE_TOO_LONG : rc;
	unsigned attr = attrs[i->op];

	if (!(attr & A_VALID))
		return -1;
	operand_size(i, attr);
	i->has_modrm = attr & A_MODRM;
	if (i->has_modrm && (rc = modrm(&c, i)))
		return avail >= RV_INSN_MAX_LEN ? RV_DECODE_TOO_LONG : rc;
	/* FF /2 /4 /6 (near CALL, JMP, PUSH) default to 64 bits like the rest
	 * of the stack and branch instructions. */
	if (i->op == 0xff && (i->subop == 2 || i->subop == 4 || i->subop == 6) && !(i->rex & 8))
		i->opsize = i->opsize_prefix ? 2 : 8;
	if (!i->has_modrm && (i->op < MAP_0F))
		i->reg = (i->op & 7) | ((i->rex & 1) << 3);
	if (!i->has_modrm && i->op >= MAP_0F + 0xc8 && i->op <= MAP_0F + 0xcf)
		i->reg = (i->op & 7) | ((i->rex & 1) << 3);
	if ((rc = immediate(&c, i, (attr & A_IMM_MASK) >> A_IMM_SHIFT)))
		return avail >= RV_INSN_MAX_LEN ? RV_DECODE_TOO_LONG : rc;
	i->len = (uint8_t)c.pos;
	return 0;
}
