// SPDX-License-Identifier: MIT
/* vmcs12 field encodings and widths (vmcs12.h). */
#include "vmcs12.h"

#include <stddef.h>

#include "evmcs.h"

static const uint16_t encodings[RV_VMCS12_NR_FIELDS] = {
#define VMCS12_FIELD(name, enc, evmcs) [VMCS12_##name] = enc,
#include "vmcs12_fields.def"
#undef VMCS12_FIELD
};

static const uint16_t evmcs_offsets[RV_VMCS12_NR_FIELDS] = {
#define VMCS12_FIELD(name, enc, evmcs) [VMCS12_##name] = offsetof(struct rv_evmcs, evmcs),
#include "vmcs12_fields.def"
#undef VMCS12_FIELD
};

/* The bytes a field of @encoding takes: 16, 64, 32 bits or natural width. */
#define ENCODING_BYTES(enc) ((((enc) >> 13) & 3) == 0 ? 2 : (((enc) >> 13) & 3) == 2 ? 4 : 8)

/* Each eVMCS member is exactly as wide as its VMCS field. */
#define VMCS12_FIELD(name, enc, evmcs)                                               \
	_Static_assert(sizeof(((struct rv_evmcs *)0)->evmcs) == ENCODING_BYTES(enc), \
		       "eVMCS member " #evmcs " has the width of " #name);
#include "vmcs12_fields.def"
#undef VMCS12_FIELD

enum width { W16, W64, W32, WNATURAL };

static enum width width_of(uint64_t encoding)
{
	return (enum width)((encoding >> 13) & 3);
}

int rv_vmcs12_slot(uint64_t encoding)
{
	/* Bits 63:15 and 12 are reserved; bit 0 is the "high" access, which
	 * only 64-bit fields have. */
	if (encoding >> 15 || (encoding & (1u << 12)))
		return -1;
	if ((encoding & 1) && width_of(encoding) != W64)
		return -1;
	for (int f = 0; f < RV_VMCS12_NR_FIELDS; f++)
		if (encodings[f] == (encoding & ~1ull))
			return f;
	return -1;
}

bool rv_vmcs12_read_only(uint64_t encoding)
{
	return ((encoding >> 10) & 3) == 1;
}

static uint64_t width_mask(uint64_t encoding)
{
	switch (width_of(encoding)) {
	case W16:
		return 0xffff;
	case W32:
		return 0xffffffff;
	default:
		return ~0ull;
	}
}

uint64_t rv_vmcs12_read_value(uint64_t encoding, uint64_t stored)
{
	if (encoding & 1)
		return stored >> 32;
	return stored & width_mask(encoding);
}

uint64_t rv_vmcs12_write_value(uint64_t encoding, uint64_t stored, uint64_t value)
{
	if (encoding & 1)
		return (stored & 0xffffffffull) | (value << 32);
	return value & width_mask(encoding);
}

uint32_t rv_vmcs12_encoding(enum rv_vmcs12_field f)
{
	return encodings[f];
}

unsigned rv_vmcs12_evmcs_offset(enum rv_vmcs12_field f)
{
	return evmcs_offsets[f];
}

unsigned rv_vmcs12_evmcs_size(enum rv_vmcs12_field f)
{
	return ENCODING_BYTES(encodings[f]);
}

/* Allowed-0 settings in the low half, allowed-1 in the high half. reqvisor
 * lets every control be 0 (the TRUE MSRs say so too) and 1 only where it
 * implements the control. */
static uint64_t controls(uint32_t allowed1)
{
	return (uint64_t)allowed1 << 32;
}

uint64_t rv_vmx_capability_msr(uint32_t msr, bool *known)
{
	*known = true;
	switch (msr) {
	case 0x3a: /* IA32_FEATURE_CONTROL: locked, VMXON outside SMX */
		return 0x5;
	case 0x480: /* IA32_VMX_BASIC: revision, 4 KiB regions, WB, TRUE controls */
		return RV_VMCS12_REVISION | (4096ull << 32) | (6ull << 50) | (1ull << 54) |
		       (1ull << 55);
	case 0x481:
	case 0x48d:
		return controls(RV_PIN_ALLOWED1);
	case 0x482:
	case 0x48e:
		return controls(RV_PROC_ALLOWED1);
	case 0x483:
	case 0x48f:
		return controls(RV_EXIT_ALLOWED1);
	case 0x484:
	case 0x490:
		return controls(RV_ENTRY_ALLOWED1);
	case 0x485: /* IA32_VMX_MISC: activity state HLT; no CR3 targets */
		return 1ull << 6;
	case 0x486: /* CR0 fixed to 1: PE, NE, PG */
		return 0x80000021ull;
	case 0x487:
		return 0xffffffffull;
	case 0x488: /* CR4 fixed to 1: VMXE */
		return 0x2000ull;
	case 0x489:
		return 0x00772fffull;
	case 0x48b:
		return controls(RV_PROC2_ALLOWED1);
	case 0x48c: /* EPT: 4-level walks, WB, 2 MiB pages, INVEPT single and
		       all; INVVPID all four types */
		return (1ull << 6) | (1ull << 14) | (1ull << 16) | (1ull << 20) | (1ull << 25) |
		       (1ull << 26) | (1ull << 32) | (0xfull << 40);
	default:
		*known = false;
		return 0;
	}
}
