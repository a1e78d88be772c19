/* SPDX-License-Identifier: MIT */
/*
 * The guest image loader (docs/guest-abi.md §1): a static ELF64 x86-64
 * executable whose PT_LOAD segments are copied to guest RAM at p_paddr.
 */
#ifndef RV_CORE_LOADER_ELF_H
#define RV_CORE_LOADER_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest physical memory as the loader and the boot state see it. RAM is
 * [0, size). page() returns the host address of the byte at @gpa, valid to
 * the end of its 4 KiB page, or NULL outside RAM. The loader never assumes
 * two pages are contiguous on the host.
 */
struct rv_phys_access {
	void *ctx;
	uint64_t size;
	uint8_t *(*page)(void *ctx, uint64_t gpa);
};

/* What a successful load tells the caller. */
struct rv_elf_info {
	uint64_t entry;	     /* e_entry: the initial RIP */
	uint32_t nr_loads;   /* PT_LOAD segments (empty ones included) */
	uint64_t load_start; /* lowest GPA a non-empty segment occupies */
	uint64_t load_end;   /* one past the highest */
	bool has_config;     /* the image has a .rvconfig section */
	uint64_t config_gpa; /* where .rvconfig landed in guest RAM */
	uint64_t config_size;
};

/*
 * The optional guest configuration block: a section named ".rvconfig" that a
 * guest reserves in one of its PT_LOAD segments, e.g.
 *
 *	__attribute__((section(".rvconfig"), used))
 *	volatile struct rv_guest_config rv_config;
 *
 * After rv_elf_load() the caller fills it from command-line flags with
 * rv_elf_write_config(), after rv_elf_read_config() if it keeps the image's
 * own values for flags not given; the guest reads it. The guest checks magic and
 * version first: a block the caller did not fill keeps whatever the image
 * held (usually zeros). Fields are little-endian; fields that do not fit in
 * a smaller section are dropped, never written past it. New fields take
 * reserved[] slots, which stay zero until then, so version changes only if
 * a field's meaning does.
 */
#define RV_GUEST_CONFIG_MAGIC	0x46435652u /* "RVCF" in memory */
#define RV_GUEST_CONFIG_VERSION 1u

struct rv_guest_config {
	uint32_t magic;	  /* RV_GUEST_CONFIG_MAGIC */
	uint32_t version; /* RV_GUEST_CONFIG_VERSION */
	uint64_t rounds;
	uint64_t pages;
	uint64_t seed;
	uint64_t reserved[4];
};

_Static_assert(sizeof(struct rv_guest_config) == 64, "the config block is 64 bytes");

/*
 * Validate the ELF @image of @len bytes, then copy its PT_LOAD segments into
 * @mem and zero their bss. Every segment must lie below @reserved_start (the
 * boot state's reserved region, up to the end of RAM). On any problem, writes
 * a message naming it to @err and returns -1 with guest memory untouched:
 * everything is checked before the first byte is written. Returns 0 and fills
 * @out on success.
 */
int rv_elf_load(const uint8_t *image, size_t len, const struct rv_phys_access *mem,
		uint64_t reserved_start, struct rv_elf_info *out, char *err, size_t errlen);

/*
 * Read the loaded .rvconfig block (the image's defaults) into @cfg; bytes
 * past the end of a smaller section read as zero. Returns the bytes read: 0,
 * and @cfg all zero, when the image has no .rvconfig.
 */
size_t rv_elf_read_config(const struct rv_phys_access *mem, const struct rv_elf_info *info,
			  struct rv_guest_config *cfg);

/*
 * Write @cfg into the .rvconfig section @info found, truncated to the
 * section's size. Returns the bytes written: 0 when the image has no
 * .rvconfig.
 */
size_t rv_elf_write_config(const struct rv_phys_access *mem, const struct rv_elf_info *info,
			   const struct rv_guest_config *cfg);

#endif
