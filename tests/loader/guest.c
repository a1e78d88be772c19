// SPDX-License-Identifier: MIT
/*
 * A real guest image for the loader test, built by gcc and ld as a guest
 * author outside the project would: freestanding, static, with a .rvconfig
 * block, initialized data and bss. It follows the guest ABI (RDI index, RSI
 * n, RDX reserved start) but the loader test only loads it, never runs it.
 */
#include <stdint.h>

/* The configuration block layout, as a guest spells it for itself. */
struct rv_config {
	uint32_t magic;
	uint32_t version;
	uint64_t rounds;
	uint64_t pages;
	uint64_t seed;
	uint64_t reserved[4];
};

__attribute__((section(".rvconfig"), used)) volatile struct rv_config rv_config;

/* The test finds this string in guest RAM at its link address. */
__attribute__((used)) char loader_marker[32] = "reqvisor loader test guest";

/* 64 KiB of bss: more than fits in the data segment's file bytes. */
uint64_t counters[8192];

void guest_main(uint64_t index, uint64_t n, uint64_t reserved);

static void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

void guest_main(uint64_t index, uint64_t n, uint64_t reserved)
{
	uint32_t status = 0;

	if (rv_config.magic == 0x46435652 && rv_config.version == 1)
		counters[index % 8192] = rv_config.seed;
	if (index >= n || (uint64_t)&counters[8191] >= reserved)
		status = 1;
	if (index == 0) {
		for (const char *p = loader_marker; *p; p++)
			outb(0xe9, (uint8_t)*p);
		outb(0xe9, '\n');
		outl(0xf4, status);
	}
	for (;;)
		__asm__ volatile("hlt");
}

/* RDI, RSI and RDX already hold guest_main's arguments; RSP is 16-byte aligned. */
__asm__(".globl _start\n"
	"_start:\n"
	"	call guest_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");
