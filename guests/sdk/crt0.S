/* SPDX-License-Identifier: MIT */
/*
 * The entry point of every guest, and the first byte of its image.
 *
 * Every vCPU arrives here at once (GUEST_ABI §3) with RDI = its index,
 * RSI = the number of vCPUs, RDX = the first reserved byte: already the
 * arguments of _rv_start(cpu, ncpus, mem_end) in the SysV ABI. RSP is the
 * top of this vCPU's own stack, 16-byte aligned, so a call leaves the
 * callee the alignment it expects.
 *
 * Nothing here clears .bss: the loader zeroes p_memsz beyond p_filesz, and
 * with every vCPU running this code a late vCPU would wipe what an early one
 * had already written.
 */
	.section .text.entry, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	xorl	%ebp, %ebp		/* the end of the frame-pointer chain */
	cld				/* the C ABI wants DF=0; RFLAGS=0x2 has it, say so anyway */
	call	_rv_start
	/* _rv_start does not return; if it ever did, park the vCPU. */
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
