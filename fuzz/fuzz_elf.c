// SPDX-License-Identifier: MIT
/*
 * The ELF loader against any bytes: a load either fails with a message and
 * guest memory untouched, or places every segment inside RAM below the
 * reserved region; the .rvconfig block then reads and writes within bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/elf.h"

#define RAM_SIZE (4u << 20)
#define RESERVED (RAM_SIZE - (256u << 10))

static uint8_t *ram;

static uint8_t *ram_page(void *ctx, uint64_t gpa)
{
	(void)ctx;
	return gpa < RAM_SIZE ? ram + gpa : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_phys_access mem = { .size = RAM_SIZE, .page = ram_page };
	struct rv_elf_info info;
	struct rv_guest_config cfg;
	char err[256];

	if (!ram)
		ram = calloc(1, RAM_SIZE);
	ram[0] = 0x5a; /* a failed load must leave this alone */
	if (rv_elf_load(data, size, &mem, RESERVED, &info, err, sizeof(err))) {
		if (!err[0] || ram[0] != 0x5a)
			abort();
		return 0;
	}
	if (info.nr_loads && info.load_start < info.load_end && info.load_end > RESERVED)
		abort();
	rv_elf_read_config(&mem, &info, &cfg);
	cfg.magic = 0;
	rv_elf_write_config(&mem, &info, &cfg);
	return 0;
}
