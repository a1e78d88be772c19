/*
 * Guest code for tests/test_cpu.c. Each snippet is copied to CODE (0x2000)
 * and run on the software CPU; snippets are position-independent, and the
 * addresses they use are the test's fixed layout:
 *   0x1000 IDT (built by the test)   0x2000 code   0x3000 handlers
 *   0x8000 data                      0xf000 stack top
 * `out %al, $0xf4` ends a run.
 */
	.text
	.code64

	/* #DE: a divide by zero, delivered to the vector 0 handler. */
	.globl snip_de, snip_de_end, snip_de_div
snip_de:
	mov $0x1234, %rax
	xor %ecx, %ecx
snip_de_div:
	div %rcx
	out %al, $0xf4
snip_de_end:

	/* A handler: record the frame in data, then stop. */
	.globl handler_record, handler_record_end
handler_record:
	mov %rsp, 0x8000
	out %al, $0xf4
handler_record_end:

	/* #PF: a store to an unmapped page. */
	.globl snip_pf, snip_pf_end, snip_pf_store
snip_pf:
	mov $0x400000, %rbx
snip_pf_store:
	movq $7, 8(%rbx)
	out %al, $0xf4
snip_pf_end:

	/* INT3 and INT 0x40, the latter returned from with IRETQ. */
	.globl snip_int, snip_int_end
snip_int:
	mov $1, %eax
	int $0x40
	add $10, %eax
	int3
	out %al, $0xf4
snip_int_end:

	/* The INT 0x40 handler: add 100 to RAX, return. */
	.globl handler_iret, handler_iret_end
handler_iret:
	add $100, %eax
	iretq
handler_iret_end:

	/* Self-modifying code: run `mov $1, %eax` in a loop three times,
	 * patching its immediate to 2 after the first pass. */
	.globl snip_smc, snip_smc_end
snip_smc:
	xor %ebx, %ebx
	mov $3, %ecx
1:	lea patch+1(%rip), %rdi
patch:
	mov $1, %eax
	add %eax, %ebx
	movl $2, (%rdi)
	dec %ecx
	jnz 1b
	out %al, $0xf4
snip_smc_end:

	/* LOCK: add 1 to the qword at 0x8000, RCX times. */
	.globl snip_lock, snip_lock_end
snip_lock:
	mov $0x8000, %rdi
1:	lock incq (%rdi)
	dec %rcx
	jnz 1b
	out %al, $0xf4
snip_lock_end:

	/* A tight loop for kicks and budgets. */
	.globl snip_spin, snip_spin_end
snip_spin:
1:	inc %rax
	jmp 1b
snip_spin_end:

	/* An opcode reqvisor does not implement (an SSE move). */
	.globl snip_sse, snip_sse_end
snip_sse:
	movaps %xmm0, %xmm1
	out %al, $0xf4
snip_sse_end:

	/* The interrupt window: STI, one shadowed instruction, then the
	 * window opens before the `inc`. */
	.globl snip_sti, snip_sti_end, snip_sti_window
snip_sti:
	mov $1, %eax
	sti
	nop
snip_sti_window:
	inc %eax
	out %al, $0xf4
snip_sti_end:


	/* VMX instructions for a machine hook: VMREAD to a register and to
	 * memory, VMWRITE, VMPTRST, INVEPT, then VMLAUNCH (which the hook
	 * turns into an exit). Flags after each VMX outcome go to data. */
	.globl snip_vmx, snip_vmx_end, snip_vmx_launch
snip_vmx:
	mov $0x4002, %rcx
	vmread %rcx, %rax
	mov %rax, 0x8000
	pushfq
	pop %rbx
	mov %rbx, 0x8008
	mov $0x7777, %rdx
	vmwrite %rdx, %rcx
	pushfq
	pop %rbx
	mov %rbx, 0x8010
	vmptrst 0x8018
	mov $2, %rax
	invept 0x8020, %rax
	vmread %rcx, 0x8030
snip_vmx_launch:
	vmlaunch
	out %al, $0xf4
snip_vmx_end:

	/* CPUID, for an intercept. */
	.globl snip_cpuid, snip_cpuid_end
snip_cpuid:
	cpuid
	out %al, $0xf4
snip_cpuid_end:

	.section .note.GNU-stack, "", @progbits
