/* SPDX-License-Identifier: MIT */
/*
 * The entry of every test program: the first byte of its code. It calls the
 * program's entry (prog_main, which the link defines as <name>_main) and
 * jumps to prog_end, the first byte after the code, where each runner has
 * put its terminator. Nothing is saved or restored around the call: the
 * registers at the terminator are what the C code and the ABI left, with the
 * digest the entry returned in RAX. RSP starts 16-byte aligned, as a call
 * expects.
 */
	.section .start, "ax", @progbits
	.globl	_start
_start:
	call	prog_main
	jmp	prog_end

	.section .note.GNU-stack, "", @progbits
