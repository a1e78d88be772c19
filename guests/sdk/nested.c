// SPDX-License-Identifier: MIT
/* What the VMX and SVM mini-hypervisors share (nested.h). */
#include "nested.h"

#include "hyperv.h"
#include "nested/evmcs.h"

u64 rv_read_dtr(bool idt, u16 *limit)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) d;

	if (idt)
		__asm__ volatile("sidt %0" : "=m"(d));
	else
		__asm__ volatile("sgdt %0" : "=m"(d));
	*limit = d.limit;
	return d.base;
}

u64 rv_port_io(bool in, unsigned size, u16 port, u64 rax)
{
	u32 v;

	if (!in) {
		if (size == 1)
			__asm__ volatile("outb %b0, %w1" : : "a"(rax), "Nd"(port));
		else if (size == 2)
			__asm__ volatile("outw %w0, %w1" : : "a"(rax), "Nd"(port));
		else
			__asm__ volatile("outl %0, %w1" : : "a"((u32)rax), "Nd"(port));
		return rax;
	}
	if (size == 1)
		__asm__ volatile("inb %w1, %b0" : "=a"(v) : "Nd"(port));
	else if (size == 2)
		__asm__ volatile("inw %w1, %w0" : "=a"(v) : "Nd"(port));
	else
		__asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
	if (size == 4)
		return v;
	return (rax & ~((1ull << (size * 8)) - 1)) | (v & ((1u << (size * 8)) - 1));
}

static u64 *table_of(u64 *entry)
{
	if (!(*entry & 7))
		*entry = (u64)(uintptr_t)rv_page_alloc() | 7;
	return rv_phys(*entry & RV_PTE_ADDR);
}

u64 *rv_nested_pte(u64 root, u64 gpa)
{
	u64 *t = rv_phys(root & RV_PTE_ADDR);

	for (int level = 3; level > 0; level--)
		t = table_of(&t[(gpa >> (12 + 9 * level)) & 511]);
	return &t[(gpa >> 12) & 511];
}

u64 rv_nested_identity(u64 leaf_flags)
{
	u64 root = (u64)(uintptr_t)rv_page_alloc();
	u64 end = rv_ram_size();

	for (u64 gpa = 0; gpa < end; gpa += RV_PAGE_SIZE)
		*rv_nested_pte(root, gpa) = gpa | leaf_flags;
	return root;
}

void rv_nested_allow_direct_flush(void)
{
	volatile u32 *features = (volatile u32 *)(hv_vp_assist() + RV_VP_ASSIST_NESTED_FEATURES);

	*features |= RV_VP_ASSIST_DIRECT_HYPERCALL;
}
