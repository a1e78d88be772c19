/* SPDX-License-Identifier: MIT */
/*
 * Workloads (a) and (b) of `reqvisor-bench cpu`: their bytes, which the
 * benchmark copies to SNIPPET_CODE for each CPU to run (so they sit in
 * .rodata here and are never executed in place). Each loops RCX times and
 * ends by falling through its last byte into the runner's terminator. The
 * last flag-setting instructions leave every flag defined, so the three CPUs'
 * flags can be compared as well.
 */

	.section .rodata, "a"

/*
 * (a) Registers only: a dependency chain through RAX, RBX, RDX and RSI, with
 * RDI and R8 on the side, so the host CPU cannot overlap everything.
 * 9 instructions per iteration.
 */
	.globl	bench_cpu_alu_code
	.hidden	bench_cpu_alu_code
	.globl	bench_cpu_alu_end
	.hidden	bench_cpu_alu_end
bench_cpu_alu_code:
1:	add	%rax, %rbx
	xor	%rbx, %rdx
	lea	0x9e37(%rdx,%rax,2), %rax
	sub	%rdx, %rsi
	mov	%rsi, %r8
	and	%rbx, %r8
	add	%r8, %rdi
	dec	%rcx
	jnz	1b
bench_cpu_alu_end:

/*
 * (b) Loads and stores in one page: RDI points at the data page; RSI walks
 * its first half 8 bytes at a time, wrapping, adding RDX into each word and
 * folding in the word 2 KiB further on. 8 instructions per iteration, three
 * memory accesses: two loads and a store.
 */
	.globl	bench_cpu_mem_code
	.hidden	bench_cpu_mem_code
	.globl	bench_cpu_mem_end
	.hidden	bench_cpu_mem_end
bench_cpu_mem_code:
1:	mov	(%rdi,%rsi), %rax
	add	%rdx, %rax
	mov	%rax, (%rdi,%rsi)
	xor	0x800(%rdi,%rsi), %rdx
	add	$8, %esi
	and	$0x7f8, %esi
	dec	%rcx
	jnz	1b
bench_cpu_mem_end:

	.section .note.GNU-stack, "", @progbits
