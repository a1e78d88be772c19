// SPDX-License-Identifier: MIT
/*
 * The guest image loader. The image is hostile input: every field is read
 * byte by byte (no alignment or host byte order assumed), every offset and
 * size is checked with arithmetic that cannot wrap, and nothing is written to
 * guest RAM until the whole image has been validated.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "elf.h"

#define PAGE_SIZE 4096u

/* The ELF64 layout (System V gABI and the x86-64 psABI). */
#define EI_CLASS    4
#define EI_DATA	    5
#define EI_VERSION  6
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define EV_CURRENT  1
#define ET_EXEC	    2
#define EM_X86_64   62
#define PT_LOAD	    1
#define PN_XNUM	    0xffff
#define SHN_UNDEF   0
#define SHN_XINDEX  0xffff
#define SHT_NOBITS  8
#define SHF_ALLOC   0x2
#define EHDR_SIZE   64
#define PHDR_SIZE   56
#define SHDR_SIZE   64
#define CONFIG_NAME ".rvconfig"

struct ehdr {
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint16_t phentsize, phnum, shentsize, shnum, shstrndx;
};

/* A PT_LOAD segment, with its index among all program headers for messages. */
struct seg {
	uint32_t index;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct shdr {
	uint32_t name, type, link;
	uint64_t flags, addr, offset, size;
};

struct loader {
	const uint8_t *image;
	size_t len;
	const struct rv_phys_access *mem;
	uint64_t reserved;
	struct ehdr eh;
	struct seg *segs;
	uint32_t nr_segs;
	char *err;
	size_t errlen;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

__attribute__((format(printf, 2, 3))) static int fail(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->err && ld->errlen) {
		va_start(ap, fmt);
		vsnprintf(ld->err, ld->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Whether [off, off + size) lies inside the image, without wrapping. */
static bool in_file(const struct loader *ld, uint64_t off, uint64_t size)
{
	return off <= ld->len && size <= ld->len - off;
}

static int check_ident(struct loader *ld)
{
	const uint8_t *id = ld->image;

	if (ld->len < 4)
		return fail(ld, "truncated file: %zu bytes, too short for an ELF header", ld->len);
	if (memcmp(id, "\177ELF", 4))
		return fail(ld, "not an ELF file (bad magic)");
	if (ld->len < EHDR_SIZE)
		return fail(ld, "truncated ELF header: %zu of %d bytes", ld->len, EHDR_SIZE);
	if (id[EI_CLASS] != ELFCLASS64)
		return fail(ld, "wrong ELF class %u: not ELF64", id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB)
		return fail(ld, "wrong ELF data encoding %u: not little-endian", id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT)
		return fail(ld, "wrong ELF ident version %u (want %d)", id[EI_VERSION], EV_CURRENT);
	return 0;
}

static void read_ehdr(const uint8_t *p, struct ehdr *eh)
{
	eh->type = le16(p + 16);
	eh->machine = le16(p + 18);
	eh->version = le32(p + 20);
	eh->entry = le64(p + 24);
	eh->phoff = le64(p + 32);
	eh->shoff = le64(p + 40);
	eh->phentsize = le16(p + 54);
	eh->phnum = le16(p + 56);
	eh->shentsize = le16(p + 58);
	eh->shnum = le16(p + 60);
	eh->shstrndx = le16(p + 62);
}

static int check_ehdr(struct loader *ld)
{
	const struct ehdr *eh = &ld->eh;

	if (eh->type != ET_EXEC)
		return fail(ld, "wrong ELF type %u: not an executable (ET_EXEC)", eh->type);
	if (eh->machine != EM_X86_64)
		return fail(ld, "wrong ELF machine %u: not x86-64", eh->machine);
	if (eh->version != EV_CURRENT)
		return fail(ld, "wrong ELF version %" PRIu32 " (want %d)", eh->version, EV_CURRENT);
	if (eh->phnum == 0)
		return fail(ld, "no PT_LOAD segment: the image has no program headers");
	/* Extended numbering keeps the real count in section 0; no executable needs it. */
	if (eh->phnum == PN_XNUM)
		return fail(ld, "program headers: extended numbering (PN_XNUM) is not supported");
	if (eh->phentsize != PHDR_SIZE)
		return fail(ld, "bad program header size (e_phentsize %u, want %d)", eh->phentsize,
			    PHDR_SIZE);
	if (!in_file(ld, eh->phoff, (uint64_t)eh->phnum * PHDR_SIZE))
		return fail(ld,
			    "program headers [%#" PRIx64
			    ", +%u * %d) lie outside the %zu-byte file",
			    eh->phoff, eh->phnum, PHDR_SIZE, ld->len);
	return 0;
}

/* Collect the PT_LOAD headers; the rest (notes, GNU_STACK, ...) mean nothing here. */
static int read_segments(struct loader *ld)
{
	const uint8_t *p = ld->image + ld->eh.phoff;

	ld->segs = rv_calloc(ld->eh.phnum, sizeof(*ld->segs));
	if (!ld->segs)
		return fail(ld, "out of memory");
	for (uint32_t i = 0; i < ld->eh.phnum; i++, p += PHDR_SIZE) {
		struct seg *s = &ld->segs[ld->nr_segs];

		if (le32(p) != PT_LOAD)
			continue;
		s->index = i;
		s->offset = le64(p + 8);
		s->vaddr = le64(p + 16);
		s->paddr = le64(p + 24);
		s->filesz = le64(p + 32);
		s->memsz = le64(p + 40);
		ld->nr_segs++;
	}
	if (!ld->nr_segs)
		return fail(ld, "no PT_LOAD segment among %u program headers", ld->eh.phnum);
	return 0;
}

/*
 * One segment on its own. Its file range matters only if it has file bytes:
 * a bss-only segment's p_offset is never read. Its end may be at most
 * reserved_start, so an empty segment may sit at the very end of usable RAM.
 */
static int check_segment(struct loader *ld, const struct seg *s)
{
	const struct rv_phys_access *mem = ld->mem;
	uint64_t end = s->paddr + s->memsz;

	if (s->filesz && !in_file(ld, s->offset, s->filesz))
		return fail(ld,
			    "segment %u: file bytes [%#" PRIx64 ", +%#" PRIx64
			    ") lie outside the %zu-byte file (truncated?)",
			    s->index, s->offset, s->filesz, ld->len);
	if (s->filesz > s->memsz)
		return fail(ld, "segment %u: p_filesz %#" PRIx64 " exceeds p_memsz %#" PRIx64,
			    s->index, s->filesz, s->memsz);
	if (end < s->paddr)
		return fail(ld,
			    "segment %u: p_paddr %#" PRIx64 " + p_memsz %#" PRIx64
			    ": integer overflow",
			    s->index, s->paddr, s->memsz);
	if (end > mem->size)
		return fail(ld,
			    "segment %u: GPA [%#" PRIx64 ", %#" PRIx64
			    ") lies outside guest RAM [0, %#" PRIx64 ")",
			    s->index, s->paddr, end, mem->size);
	if (end > ld->reserved)
		return fail(ld,
			    "segment %u: GPA [%#" PRIx64 ", %#" PRIx64
			    ") overlaps the reserved region [%#" PRIx64 ", %#" PRIx64 ")",
			    s->index, s->paddr, end, ld->reserved, mem->size);
	return 0;
}

static int by_paddr(const void *a, const void *b)
{
	const struct seg *x = *(const struct seg *const *)a;
	const struct seg *y = *(const struct seg *const *)b;

	if (x->paddr != y->paddr)
		return x->paddr < y->paddr ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Sorted by start, two non-empty segments overlap only if some neighbours
 * do, so one pass over the sorted order finds any overlap in O(n log n): a
 * hostile image with thousands of headers cannot make this quadratic.
 */
static int check_overlaps(struct loader *ld)
{
	const struct seg **order = rv_calloc(ld->nr_segs, sizeof(*order));
	uint32_t n = 0;
	int ret = 0;

	if (!order)
		return fail(ld, "out of memory");
	for (uint32_t i = 0; i < ld->nr_segs; i++)
		if (ld->segs[i].memsz)
			order[n++] = &ld->segs[i];
	qsort(order, n, sizeof(*order), by_paddr);
	for (uint32_t i = 1; i < n && !ret; i++) {
		const struct seg *a = order[i - 1], *b = order[i];

		if (b->paddr < a->paddr + a->memsz)
			ret = fail(ld,
				   "segment %u GPA [%#" PRIx64 ", %#" PRIx64
				   ") overlaps segment %u GPA [%#" PRIx64 ", %#" PRIx64 ")",
				   b->index, b->paddr, b->paddr + b->memsz, a->index, a->paddr,
				   a->paddr + a->memsz);
	}
	free(order);
	return ret;
}

/* The memory layer may leave holes in RAM: find them before writing, not halfway. */
static int check_reachable(struct loader *ld, const struct seg *s)
{
	const struct rv_phys_access *mem = ld->mem;
	uint64_t end = s->paddr + s->memsz;

	for (uint64_t gpa = s->paddr & ~(uint64_t)(PAGE_SIZE - 1); gpa < end; gpa += PAGE_SIZE)
		if (!mem->page(mem->ctx, gpa))
			return fail(ld,
				    "segment %u: guest RAM at GPA %#" PRIx64 " is not accessible",
				    s->index, gpa);
	return 0;
}

static int check_all_segments(struct loader *ld)
{
	for (uint32_t i = 0; i < ld->nr_segs; i++)
		if (check_segment(ld, &ld->segs[i]))
			return -1;
	if (check_overlaps(ld))
		return -1;
	for (uint32_t i = 0; i < ld->nr_segs; i++)
		if (check_reachable(ld, &ld->segs[i]))
			return -1;
	return 0;
}

static void read_shdr(const uint8_t *p, struct shdr *sh)
{
	sh->name = le32(p);
	sh->type = le32(p + 4);
	sh->flags = le64(p + 8);
	sh->addr = le64(p + 16);
	sh->offset = le64(p + 24);
	sh->size = le64(p + 32);
	sh->link = le32(p + 40);
}

/*
 * Section @i, if the section header table is sane enough to hold it. The
 * loader does not need sections, so a missing or broken table just means
 * "no .rvconfig", never a rejected image.
 */
static bool section(const struct loader *ld, uint64_t i, struct shdr *sh)
{
	const struct ehdr *eh = &ld->eh;

	if (!eh->shoff || eh->shentsize != SHDR_SIZE || i >= UINT64_MAX / SHDR_SIZE)
		return false;
	if (!in_file(ld, eh->shoff, (i + 1) * SHDR_SIZE))
		return false;
	read_shdr(ld->image + eh->shoff + i * SHDR_SIZE, sh);
	return true;
}

/* Whether section @sh's name, in string table @strtab, is exactly .rvconfig. */
static bool is_config(const struct loader *ld, const struct shdr *strtab, const struct shdr *sh)
{
	if (sh->name >= strtab->size || sizeof(CONFIG_NAME) > strtab->size - sh->name)
		return false;
	return !memcmp(ld->image + strtab->offset + sh->name, CONFIG_NAME, sizeof(CONFIG_NAME));
}

/* Find .rvconfig's section header; false when there is none (or no usable table). */
static bool find_config_section(const struct loader *ld, struct shdr *out)
{
	uint64_t nr = ld->eh.shnum, strndx = ld->eh.shstrndx;
	struct shdr first, strtab;

	if (!section(ld, 0, &first))
		return false;
	/* Extended numbering: the real values live in section 0. */
	if (nr == 0)
		nr = first.size;
	if (strndx == SHN_XINDEX)
		strndx = first.link;
	/* The whole table must be in the file, which also bounds the loop below. */
	if (strndx == SHN_UNDEF || strndx >= nr || !section(ld, nr - 1, out))
		return false;
	if (!section(ld, strndx, &strtab) || strtab.type == SHT_NOBITS ||
	    !in_file(ld, strtab.offset, strtab.size))
		return false;
	for (uint64_t i = 1; i < nr; i++) {
		if (section(ld, i, out) && is_config(ld, &strtab, out))
			return true;
	}
	return false;
}

/*
 * A .rvconfig the caller cannot fill is a guest bug worth naming, so a
 * section that no segment loads rejects the image. Sections are placed by
 * virtual address; the segment holding it gives the GPA.
 */
static int find_config(struct loader *ld, struct rv_elf_info *out)
{
	struct shdr sh;

	if (!find_config_section(ld, &sh))
		return 0;
	if (!(sh.flags & SHF_ALLOC))
		return fail(ld, "section " CONFIG_NAME " is not allocated (SHF_ALLOC clear)");
	for (uint32_t i = 0; i < ld->nr_segs; i++) {
		const struct seg *s = &ld->segs[i];
		uint64_t off = sh.addr - s->vaddr;

		if (sh.addr < s->vaddr || off > s->memsz || sh.size > s->memsz - off)
			continue;
		out->has_config = true;
		out->config_gpa = s->paddr + off;
		out->config_size = sh.size;
		return 0;
	}
	return fail(ld,
		    "section " CONFIG_NAME " [%#" PRIx64 ", +%#" PRIx64
		    ") is not inside any PT_LOAD segment",
		    sh.addr, sh.size);
}

/* Write @n bytes of @src (zeros when NULL) at @gpa, a page at a time. */
static void write_guest(const struct rv_phys_access *mem, uint64_t gpa, const uint8_t *src,
			uint64_t n)
{
	while (n) {
		uint64_t chunk = PAGE_SIZE - (gpa & (PAGE_SIZE - 1));
		uint8_t *dst = mem->page(mem->ctx, gpa);

		if (chunk > n)
			chunk = n;
		if (src) {
			memcpy(dst, src, chunk);
			src += chunk;
		} else {
			memset(dst, 0, chunk);
		}
		gpa += chunk;
		n -= chunk;
	}
}

static void read_guest(const struct rv_phys_access *mem, uint64_t gpa, uint8_t *dst, uint64_t n)
{
	while (n) {
		uint64_t chunk = PAGE_SIZE - (gpa & (PAGE_SIZE - 1));

		if (chunk > n)
			chunk = n;
		memcpy(dst, mem->page(mem->ctx, gpa), chunk);
		dst += chunk;
		gpa += chunk;
		n -= chunk;
	}
}

static void load_segments(const struct loader *ld)
{
	for (uint32_t i = 0; i < ld->nr_segs; i++) {
		const struct seg *s = &ld->segs[i];

		/* A bss-only segment's p_offset was never checked: no pointer
		 * is formed from it. */
		if (s->filesz)
			write_guest(ld->mem, s->paddr, ld->image + s->offset, s->filesz);
		write_guest(ld->mem, s->paddr + s->filesz, NULL, s->memsz - s->filesz);
	}
}

static void fill_info(const struct loader *ld, struct rv_elf_info *out)
{
	out->entry = ld->eh.entry;
	out->nr_loads = ld->nr_segs;
	out->load_start = UINT64_MAX;
	for (uint32_t i = 0; i < ld->nr_segs; i++) {
		const struct seg *s = &ld->segs[i];

		if (!s->memsz)
			continue;
		if (s->paddr < out->load_start)
			out->load_start = s->paddr;
		if (s->paddr + s->memsz > out->load_end)
			out->load_end = s->paddr + s->memsz;
	}
	if (out->load_start == UINT64_MAX)
		out->load_start = 0;
}

static int validate(struct loader *ld, struct rv_elf_info *info)
{
	if (!ld->mem || !ld->mem->page)
		return fail(ld, "no guest memory to load into");
	if (ld->reserved > ld->mem->size)
		return fail(ld, "reserved region starts at %#" PRIx64 ", past the end of RAM",
			    ld->reserved);
	if (!ld->image)
		ld->len = 0;
	if (check_ident(ld))
		return -1;
	read_ehdr(ld->image, &ld->eh);
	if (check_ehdr(ld) || read_segments(ld) || check_all_segments(ld))
		return -1;
	return find_config(ld, info);
}

int rv_elf_load(const uint8_t *image, size_t len, const struct rv_phys_access *mem,
		uint64_t reserved_start, struct rv_elf_info *out, char *err, size_t errlen)
{
	struct loader ld = {
		.image = image,
		.len = len,
		.mem = mem,
		.reserved = reserved_start,
		.err = err,
		.errlen = errlen,
	};
	struct rv_elf_info info = { 0 };
	int ret = validate(&ld, &info);

	if (!ret) {
		load_segments(&ld);
		fill_info(&ld, &info);
		*out = info;
	}
	free(ld.segs);
	return ret;
}

/* The next @bytes of a little-endian block at *@p, advancing it. */
static uint64_t get_le(const uint8_t **p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += bytes;
	return v;
}

static uint64_t config_bytes(const struct rv_elf_info *info)
{
	if (!info->has_config)
		return 0;
	return info->config_size < sizeof(struct rv_guest_config) ? info->config_size
								  : sizeof(struct rv_guest_config);
}

size_t rv_elf_read_config(const struct rv_phys_access *mem, const struct rv_elf_info *info,
			  struct rv_guest_config *cfg)
{
	uint8_t block[sizeof(*cfg)] = { 0 };
	uint64_t n = config_bytes(info);
	const uint8_t *p = block;

	read_guest(mem, info->config_gpa, block, n);
	/* Field by field, as the guest wrote them: little-endian whatever the host is. */
	cfg->magic = (uint32_t)get_le(&p, 4);
	cfg->version = (uint32_t)get_le(&p, 4);
	cfg->rounds = get_le(&p, 8);
	cfg->pages = get_le(&p, 8);
	cfg->seed = get_le(&p, 8);
	for (int i = 0; i < 4; i++)
		cfg->reserved[i] = get_le(&p, 8);
	return n;
}

static uint8_t *put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + bytes;
}

size_t rv_elf_write_config(const struct rv_phys_access *mem, const struct rv_elf_info *info,
			   const struct rv_guest_config *cfg)
{
	uint8_t block[sizeof(*cfg)];
	uint64_t n = config_bytes(info);
	uint8_t *p = block;

	if (!n)
		return 0;
	/* Serialized field by field: the guest sees little-endian whatever the host is. */
	p = put_le(p, cfg->magic, 4);
	p = put_le(p, cfg->version, 4);
	p = put_le(p, cfg->rounds, 8);
	p = put_le(p, cfg->pages, 8);
	p = put_le(p, cfg->seed, 8);
	for (int i = 0; i < 4; i++)
		p = put_le(p, cfg->reserved[i], 8);
	write_guest(mem, info->config_gpa, block, n);
	return n;
}
