// SPDX-License-Identifier: MIT
/*
 * The guest image loader and the boot state (docs/guest-abi.md §1-§3).
 * ELF images are built in memory by a small builder below, one per accepted
 * shape and one per rejection; the boot page tables are checked by walking
 * them through the same callbacks a CPU's page walker would use.
 */
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "loader/boot.h"
#include "loader/elf.h"

#define PAGE	    4096ull
#define SZ_2M	    (2ull << 20)
#define SZ_1G	    (1ull << 30)
#define RAM_SIZE    (16ull << 20)
#define RESERVED    (15ull << 20) /* the loader tests' reserved_start */
#define PATTERN	    0xa5
#define MAX_SEGS    8
#define MAX_SECS    8
#define TEXT_GPA    0x100000ull
#define DATA_GPA    0x201f00ull /* bss crosses pages */
#define CONFIG_VA   0xffffffff80300000ull
#define CONFIG_GPA  0x300000ull
#define ENTRY	    (TEXT_GPA + 0x40)
#define CONFIG_SIZE 64

/* Guest RAM in one host buffer, remembering which pages were handed out. */
struct flat_ram {
	uint8_t *buf;
	uint64_t size;
	uint64_t hole; /* a GPA whose page is "not there", or UINT64_MAX */
	uint8_t *touched;
	struct rv_phys_access mem;
};

static uint8_t *flat_page(void *ctx, uint64_t gpa)
{
	struct flat_ram *r = ctx;

	if (gpa >= r->size || gpa / PAGE == r->hole / PAGE)
		return NULL;
	r->touched[gpa / PAGE] = 1;
	return r->buf + gpa;
}

static struct flat_ram ram;

static void flat_init(struct flat_ram *r, uint64_t size)
{
	r->buf = malloc(size);
	r->touched = calloc(size / PAGE, 1);
	ck_assert(r->buf && r->touched);
	memset(r->buf, PATTERN, size);
	r->size = size;
	r->hole = UINT64_MAX;
	r->mem = (struct rv_phys_access){ .ctx = r, .size = size, .page = flat_page };
}

static void flat_free(struct flat_ram *r)
{
	free(r->buf);
	free(r->touched);
}

static bool is_pattern(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != PATTERN)
			return false;
	return true;
}

/* Whether pages the callback handed out still hold the pattern; restores them if asked. */
static bool touched_pages_untouched(struct flat_ram *r, bool restore)
{
	bool clean = true;

	for (uint64_t i = 0; i < r->size / PAGE; i++) {
		if (!r->touched[i])
			continue;
		clean = clean && is_pattern(r->buf + i * PAGE, PAGE);
		if (restore)
			memset(r->buf + i * PAGE, PATTERN, PAGE);
		r->touched[i] = 0;
	}
	return clean;
}

static void setup(void)
{
	flat_init(&ram, RAM_SIZE);
}

static void teardown(void)
{
	flat_free(&ram);
}

/*
 * Sparse guest RAM for sizes no test can allocate: pages appear, zeroed, on
 * first use, in an open-addressing table keyed by page number.
 */
#define SPARSE_SLOTS (1u << 15)

struct sparse_ram {
	uint64_t key[SPARSE_SLOTS]; /* page number + 1; 0 is a free slot */
	uint8_t *page[SPARSE_SLOTS];
	unsigned used;
	struct rv_phys_access mem;
};

static uint8_t *sparse_page(void *ctx, uint64_t gpa)
{
	struct sparse_ram *r = ctx;
	uint64_t key = gpa / PAGE + 1;
	uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 49);

	if (gpa >= r->mem.size)
		return NULL;
	while (r->key[i] && r->key[i] != key)
		i = (i + 1) % SPARSE_SLOTS;
	if (!r->key[i]) {
		ck_assert_msg(r->used < SPARSE_SLOTS / 2, "sparse RAM: too many pages");
		r->key[i] = key;
		r->page[i] = calloc(1, PAGE);
		ck_assert(r->page[i]);
		r->used++;
	}
	return r->page[i] + gpa % PAGE;
}

static struct sparse_ram *sparse_new(uint64_t size)
{
	struct sparse_ram *r = calloc(1, sizeof(*r));

	ck_assert(r);
	r->mem = (struct rv_phys_access){ .ctx = r, .size = size, .page = sparse_page };
	return r;
}

static void sparse_free(struct sparse_ram *r)
{
	for (unsigned i = 0; i < SPARSE_SLOTS; i++)
		free(r->page[i]);
	free(r);
}

/* --- A tiny ELF builder: header, program headers, segment bytes, sections. --- */

struct seg_spec {
	uint32_t type;
	uint64_t paddr, vaddr, filesz, memsz;
	uint8_t fill; /* file byte i is fill + i */
};

struct sec_spec {
	const char *name;
	uint32_t type;
	uint64_t flags, addr, size;
};

struct image_spec {
	uint64_t entry;
	int nr_segs, nr_secs;
	struct seg_spec seg[MAX_SEGS];
	struct sec_spec sec[MAX_SECS];
};

/* A built image, with pointers into its buffer for tests that corrupt it. */
struct image {
	uint8_t *buf;
	size_t len;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh; /* NULL without sections */
};

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

static struct seg_spec load_seg(uint64_t gpa, uint64_t filesz, uint64_t memsz, uint8_t fill)
{
	return (struct seg_spec){ PT_LOAD, gpa, gpa, filesz, memsz, fill };
}

/* Two segments, code and data with bss, and no sections. */
static struct image_spec good_spec(void)
{
	return (struct image_spec){
		.entry = ENTRY,
		.nr_segs = 2,
		.seg = { load_seg(TEXT_GPA, 0x1234, 0x1234, 0x11),
			 load_seg(DATA_GPA, 0x300, 0x2400, 0x22) },
	};
}

/* The good image plus a .rvconfig in a third segment linked at a high vaddr. */
static struct image_spec config_spec(void)
{
	struct image_spec s = good_spec();

	s.seg[s.nr_segs++] = (struct seg_spec){ PT_LOAD, CONFIG_GPA, CONFIG_VA, 0x100, 0x100, 0 };
	s.sec[s.nr_secs++] = (struct sec_spec){ ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
						TEXT_GPA, 0x1234 };
	s.sec[s.nr_secs++] = (struct sec_spec){ ".rvconfig", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
						CONFIG_VA + 0x40, CONFIG_SIZE };
	return s;
}

static void build_ehdr(struct image *img, const struct image_spec *s)
{
	Elf64_Ehdr *eh = img->eh;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = s->entry;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (uint16_t)s->nr_segs;
	eh->e_shentsize = sizeof(Elf64_Shdr);
}

/* Section headers: null, the spec's sections, then .shstrtab. */
static void build_sections(struct image *img, const struct image_spec *s, size_t strtab,
			   size_t shoff)
{
	size_t name = 1;

	img->sh = (Elf64_Shdr *)(img->buf + shoff);
	for (int i = 0; i < s->nr_secs; i++) {
		Elf64_Shdr *sh = &img->sh[i + 1];

		strcpy((char *)img->buf + strtab + name, s->sec[i].name);
		*sh = (Elf64_Shdr){ .sh_name = (uint32_t)name,
				    .sh_type = s->sec[i].type,
				    .sh_flags = s->sec[i].flags,
				    .sh_addr = s->sec[i].addr,
				    .sh_size = s->sec[i].size };
		name += strlen(s->sec[i].name) + 1;
	}
	strcpy((char *)img->buf + strtab + name, ".shstrtab");
	img->sh[s->nr_secs + 1] = (Elf64_Shdr){ .sh_name = (uint32_t)name,
						.sh_type = SHT_STRTAB,
						.sh_offset = strtab,
						.sh_size = name + sizeof(".shstrtab") };
	img->eh->e_shoff = shoff;
	img->eh->e_shnum = (uint16_t)(s->nr_secs + 2);
	img->eh->e_shstrndx = (uint16_t)(s->nr_secs + 1);
}

static struct image build(const struct image_spec *s)
{
	size_t off = sizeof(Elf64_Ehdr) + s->nr_segs * sizeof(Elf64_Phdr), strtab, shoff;
	uint64_t data[MAX_SEGS];
	struct image img;

	for (int i = 0; i < s->nr_segs; i++) {
		off = align_up(off, 16);
		data[i] = off;
		off += s->seg[i].type == PT_LOAD ? s->seg[i].filesz : 0;
	}
	strtab = off;
	off += 256;
	shoff = align_up(off, 8);
	img.len = s->nr_secs ? shoff + (s->nr_secs + 2) * sizeof(Elf64_Shdr) : strtab;
	img.buf = calloc(1, img.len + 256);
	ck_assert(img.buf);
	img.eh = (Elf64_Ehdr *)img.buf;
	img.ph = (Elf64_Phdr *)(img.buf + sizeof(Elf64_Ehdr));
	img.sh = NULL;
	build_ehdr(&img, s);
	for (int i = 0; i < s->nr_segs; i++) {
		const struct seg_spec *g = &s->seg[i];

		img.ph[i] = (Elf64_Phdr){ .p_type = g->type,
					  .p_flags = PF_R | PF_W | PF_X,
					  .p_offset = data[i],
					  .p_vaddr = g->vaddr,
					  .p_paddr = g->paddr,
					  .p_filesz = g->filesz,
					  .p_memsz = g->memsz,
					  .p_align = 16 };
		for (uint64_t b = 0; g->type == PT_LOAD && b < g->filesz; b++)
			img.buf[data[i] + b] = (uint8_t)(g->fill + b);
	}
	if (s->nr_secs)
		build_sections(&img, s, strtab, shoff);
	return img;
}

/* Load the first @len bytes of @img from a buffer of exactly that size, so ASan sees overreads. */
static int load_len(const struct image *img, size_t len, const struct rv_phys_access *mem,
		    uint64_t reserved, struct rv_elf_info *info, char *err, size_t errlen)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	ck_assert(copy);
	memcpy(copy, img->buf, len);
	ret = rv_elf_load(copy, len, mem, reserved, info, err, errlen);
	free(copy);
	return ret;
}

static int load(const struct image *img, struct rv_elf_info *info, char *err)
{
	return load_len(img, img->len, &ram.mem, RESERVED, info, err, 256);
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * The segment's file bytes at its GPA and zeros after them. (Loops check
 * bytes themselves: every ck_assert that passes costs a message to Check.)
 */
static void check_segment_loaded(const struct seg_spec *g)
{
	const uint8_t *p = ram.buf + g->paddr;
	uint64_t b = 0;

	while (b < g->filesz && p[b] == (uint8_t)(g->fill + b))
		b++;
	ck_assert_msg(b == g->filesz, "GPA %#" PRIx64 " holds %#x", g->paddr + b, p[b]);
	ck_assert_msg(all_zero(p + b, g->memsz - b), "bss at GPA %#" PRIx64 " not zeroed",
		      g->paddr);
}

/* --- Loading --- */

START_TEST(good_image_loads_segments_zeroes_bss_and_reports_entry)
{
	struct image_spec s = good_spec();
	struct image img = build(&s);
	struct rv_elf_info info;
	char err[256] = "";

	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	check_segment_loaded(&s.seg[0]);
	check_segment_loaded(&s.seg[1]);
	/* Not a byte more: the neighbours of both segments keep the pattern. */
	ck_assert(is_pattern(ram.buf, TEXT_GPA));
	ck_assert(is_pattern(ram.buf + TEXT_GPA + 0x1234, DATA_GPA - TEXT_GPA - 0x1234));
	ck_assert(is_pattern(ram.buf + DATA_GPA + 0x2400, RAM_SIZE - DATA_GPA - 0x2400));
	ck_assert_uint_eq(info.entry, ENTRY);
	ck_assert_uint_eq(info.nr_loads, 2);
	ck_assert_uint_eq(info.load_start, TEXT_GPA);
	ck_assert_uint_eq(info.load_end, DATA_GPA + 0x2400);
	ck_assert(!info.has_config);
	free(img.buf);
}
END_TEST

START_TEST(other_program_headers_are_ignored_even_when_bogus)
{
	struct image_spec s = good_spec();
	struct image img;
	struct rv_elf_info info;
	char err[256] = "";

	s.seg[s.nr_segs++] = (struct seg_spec){ PT_NOTE, 0, 0, 0, 0, 0 };
	s.seg[s.nr_segs++] = (struct seg_spec){ PT_GNU_STACK, 0, 0, 0, 0, 0 };
	img = build(&s);
	/* Headers the loader has no use for may point anywhere. */
	img.ph[2].p_offset = UINT64_MAX;
	img.ph[2].p_filesz = UINT64_MAX;
	img.ph[3].p_paddr = UINT64_MAX;
	img.ph[3].p_memsz = UINT64_MAX;
	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	ck_assert_uint_eq(info.nr_loads, 2);
	check_segment_loaded(&s.seg[1]);
	free(img.buf);
}
END_TEST

START_TEST(segment_ending_exactly_at_reserved_start_is_accepted)
{
	struct image_spec s = good_spec();
	struct image img;
	struct rv_elf_info info;
	char err[256] = "";

	s.seg[1] = load_seg(RESERVED - 0x3000, 0x1000, 0x3000, 0x33);
	img = build(&s);
	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	check_segment_loaded(&s.seg[1]);
	ck_assert(is_pattern(ram.buf + RESERVED, RAM_SIZE - RESERVED));
	free(img.buf);
}
END_TEST

START_TEST(bss_only_segment_is_zeroed_whatever_its_file_offset)
{
	struct image_spec s = good_spec();
	struct image img;
	struct rv_elf_info info;
	char err[256] = "";

	s.seg[1] = load_seg(0x400000, 0, 0x5000, 0);
	img = build(&s);
	img.ph[1].p_offset = UINT64_MAX - 4; /* never read: no file bytes */
	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	check_segment_loaded(&s.seg[1]);
	free(img.buf);
}
END_TEST

START_TEST(touching_segments_are_not_an_overlap)
{
	struct image_spec s = good_spec();
	struct image img;
	struct rv_elf_info info;
	char err[256] = "";

	s.seg[1] = load_seg(TEXT_GPA + 0x1234, 0x10, 0x10, 0x44);
	s.seg[s.nr_segs++] = load_seg(TEXT_GPA - 0x10, 0x10, 0x10, 0x55);
	s.seg[s.nr_segs++] = load_seg(TEXT_GPA, 0, 0, 0); /* empty, inside another */
	img = build(&s);
	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	ck_assert_uint_eq(info.nr_loads, 4);
	ck_assert_uint_eq(info.load_start, TEXT_GPA - 0x10);
	ck_assert_uint_eq(info.load_end, TEXT_GPA + 0x1244);
	free(img.buf);
}
END_TEST

START_TEST(rvconfig_section_is_found_at_its_segment_gpa)
{
	struct image_spec s = config_spec();
	struct image img = build(&s);
	struct rv_elf_info info;
	char err[256] = "";

	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	ck_assert(info.has_config);
	/* Placed by virtual address, reported by physical address. */
	ck_assert_uint_eq(info.config_gpa, CONFIG_GPA + 0x40);
	ck_assert_uint_eq(info.config_size, CONFIG_SIZE);
	free(img.buf);
}
END_TEST

START_TEST(rvconfig_block_is_written_little_endian_within_the_section)
{
	struct image_spec s = config_spec();
	struct image img = build(&s);
	struct rv_elf_info info;
	struct rv_guest_config cfg = { .magic = RV_GUEST_CONFIG_MAGIC,
				       .version = RV_GUEST_CONFIG_VERSION,
				       .rounds = 0x1122334455667788ull,
				       .pages = 42,
				       .seed = 7 };
	const uint8_t *p = ram.buf + CONFIG_GPA + 0x40;
	char err[256] = "";

	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	ck_assert_uint_eq(rv_elf_write_config(&ram.mem, &info, &cfg), 64);
	ck_assert(!memcmp(p, "RVCF\1\0\0\0\x88\x77\x66\x55\x44\x33\x22\x11", 16));
	ck_assert_uint_eq(p[16], 42);
	ck_assert_uint_eq(p[24], 7);
	/* A smaller section gets what fits, and nothing beyond it. */
	info.config_size = 12;
	memset(ram.buf + CONFIG_GPA, PATTERN, 0x100);
	ck_assert_uint_eq(rv_elf_write_config(&ram.mem, &info, &cfg), 12);
	ck_assert(!memcmp(p, "RVCF\1\0\0\0\x88\x77\x66\x55", 12));
	ck_assert(is_pattern(p + 12, 0x100 - 0x40 - 12));
	info.has_config = false;
	ck_assert_uint_eq(rv_elf_write_config(&ram.mem, &info, &cfg), 0);
	free(img.buf);
}
END_TEST

START_TEST(rvconfig_block_reads_back_the_image_defaults)
{
	struct image_spec s = config_spec();
	struct image img;
	struct rv_elf_info info;
	struct rv_guest_config cfg;
	char err[256] = "";

	/* The block is at offset 0x40 of the third segment: bytes 0x40, 0x41, ... */
	s.seg[2].fill = 0;
	img = build(&s);
	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	ck_assert_uint_eq(rv_elf_read_config(&ram.mem, &info, &cfg), 64);
	ck_assert_uint_eq(cfg.magic, 0x43424140);
	ck_assert_uint_eq(cfg.version, 0x47464544);
	ck_assert_uint_eq(cfg.rounds, 0x4f4e4d4c4b4a4948ull);
	ck_assert_uint_eq(cfg.reserved[3], 0x7f7e7d7c7b7a7978ull);
	/* A smaller section: what it holds, then zeros. */
	info.config_size = 10;
	ck_assert_uint_eq(rv_elf_read_config(&ram.mem, &info, &cfg), 10);
	ck_assert_uint_eq(cfg.version, 0x47464544);
	ck_assert_uint_eq(cfg.rounds, 0x4948);
	ck_assert_uint_eq(cfg.pages, 0);
	info.has_config = false;
	ck_assert_uint_eq(rv_elf_read_config(&ram.mem, &info, &cfg), 0);
	ck_assert_uint_eq(cfg.magic, 0);
	free(img.buf);
}
END_TEST

/* Broken section tables only hide .rvconfig: the loader does not need sections. */
static void break_sections(struct image *img, int how)
{
	switch (how) {
	case 0:
		img->eh->e_shoff = img->len; /* table outside the file */
		break;
	case 1:
		img->eh->e_shentsize = 40;
		break;
	case 2:
		img->eh->e_shstrndx = 200;
		break;
	case 3:
		img->sh[2].sh_name = 0xfffffff0u; /* name outside the string table */
		break;
	case 4:
		img->sh[img->eh->e_shstrndx].sh_offset = UINT64_MAX - 8;
		break;
	case 5:
		img->eh->e_shnum = 0; /* extended count in section 0: none */
		break;
	case 6:
		img->eh->e_shoff = UINT64_MAX - 63;
		break;
	case 7:
		img->sh[img->eh->e_shstrndx].sh_size = 12; /* cuts ".rvconfig" short */
		break;
	case 8:
	case 9:
		/* Extended counts so large that count * entry size wraps. */
		img->eh->e_shnum = 0;
		img->sh[0].sh_size = how == 8 ? 1ull << 58 : UINT64_MAX;
		img->sh[0].sh_link = 1;
		break;
	}
}

START_TEST(broken_section_table_loads_without_rvconfig)
{
	struct image_spec s = config_spec();
	struct image img = build(&s);
	struct rv_elf_info info;
	char err[256] = "";

	break_sections(&img, _i);
	ck_assert_msg(load(&img, &info, err) == 0, "case %d: %s", _i, err);
	ck_assert_msg(!info.has_config, "case %d", _i);
	check_segment_loaded(&s.seg[1]);
	free(img.buf);
}
END_TEST

START_TEST(extended_section_numbering_still_finds_rvconfig)
{
	struct image_spec s = config_spec();
	struct image img = build(&s);
	struct rv_elf_info info;
	char err[256] = "";

	img.sh[0].sh_size = img.eh->e_shnum;
	img.sh[0].sh_link = img.eh->e_shstrndx;
	img.eh->e_shnum = 0;
	img.eh->e_shstrndx = SHN_XINDEX;
	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	ck_assert(info.has_config);
	ck_assert_uint_eq(info.config_gpa, CONFIG_GPA + 0x40);
	free(img.buf);
}
END_TEST

/* --- Rejections: each gives -1, a message naming the problem, and untouched RAM. --- */

struct reject_case {
	const char *name;
	const char *expect; /* in the message */
	size_t (*make)(struct image *img);
	void (*spec)(struct image_spec *s);
};

static size_t cut_to(struct image *img, size_t len)
{
	(void)img;
	return len;
}

static size_t empty_file(struct image *img)
{
	return cut_to(img, 0);
}

static size_t three_bytes(struct image *img)
{
	return cut_to(img, 3);
}

static size_t half_header(struct image *img)
{
	return cut_to(img, 40);
}

static size_t bad_magic(struct image *img)
{
	img->buf[1] = 'e';
	return img->len;
}

static size_t elf32(struct image *img)
{
	img->eh->e_ident[EI_CLASS] = ELFCLASS32;
	return img->len;
}

static size_t big_endian(struct image *img)
{
	img->eh->e_ident[EI_DATA] = ELFDATA2MSB;
	return img->len;
}

static size_t bad_ident_version(struct image *img)
{
	img->eh->e_ident[EI_VERSION] = EV_NONE;
	return img->len;
}

static size_t shared_object(struct image *img)
{
	img->eh->e_type = ET_DYN;
	return img->len;
}

static size_t relocatable(struct image *img)
{
	img->eh->e_type = ET_REL;
	return img->len;
}

static size_t em_386(struct image *img)
{
	img->eh->e_machine = EM_386;
	return img->len;
}

static size_t aarch64(struct image *img)
{
	img->eh->e_machine = EM_AARCH64;
	return img->len;
}

static size_t bad_version(struct image *img)
{
	img->eh->e_version = 2;
	return img->len;
}

static size_t bad_phentsize(struct image *img)
{
	img->eh->e_phentsize = sizeof(Elf32_Phdr);
	return img->len;
}

static size_t big_phentsize(struct image *img)
{
	img->eh->e_phentsize = sizeof(Elf64_Phdr) + 8;
	return img->len;
}

static size_t phdrs_past_end(struct image *img)
{
	img->eh->e_phoff = img->len - sizeof(Elf64_Phdr) + 1;
	return img->len;
}

static size_t phdrs_wrap(struct image *img)
{
	img->eh->e_phoff = UINT64_MAX - sizeof(Elf64_Phdr) + 1;
	return img->len;
}

static size_t too_many_phdrs(struct image *img)
{
	img->eh->e_phnum = 1000;
	return img->len;
}

static size_t pn_xnum(struct image *img)
{
	img->eh->e_phnum = PN_XNUM;
	return img->len;
}

static size_t no_phdrs(struct image *img)
{
	img->eh->e_phnum = 0;
	return img->len;
}

static size_t no_pt_load(struct image *img)
{
	img->ph[0].p_type = PT_NOTE;
	img->ph[1].p_type = PT_GNU_STACK;
	return img->len;
}

static size_t file_range_past_end(struct image *img)
{
	img->ph[1].p_offset = img->len - img->ph[1].p_filesz + 1;
	return img->len;
}

static size_t file_range_wraps(struct image *img)
{
	img->ph[1].p_offset = UINT64_MAX - 0x10;
	return img->len;
}

static size_t truncated_in_segment(struct image *img)
{
	return cut_to(img, img->ph[1].p_offset + 1);
}

static size_t filesz_over_memsz(struct image *img)
{
	img->ph[1].p_memsz = img->ph[1].p_filesz - 1;
	return img->len;
}

static size_t paddr_memsz_overflow(struct image *img)
{
	img->ph[1].p_paddr = UINT64_MAX - 0xfff;
	return img->len;
}

static size_t memsz_overflow(struct image *img)
{
	img->ph[1].p_memsz = UINT64_MAX;
	return img->len;
}

static size_t beyond_ram(struct image *img)
{
	img->ph[1].p_paddr = RAM_SIZE;
	return img->len;
}

static size_t far_beyond_ram(struct image *img)
{
	img->ph[1].p_paddr = 1ull << 40;
	return img->len;
}

static size_t straddles_end_of_ram(struct image *img)
{
	img->ph[1].p_paddr = RAM_SIZE - 0x1000;
	return img->len;
}

static size_t empty_segment_beyond_ram(struct image *img)
{
	img->ph[1].p_paddr = RAM_SIZE + PAGE;
	img->ph[1].p_filesz = 0;
	img->ph[1].p_memsz = 0;
	return img->len;
}

static size_t into_reserved(struct image *img)
{
	img->ph[1].p_paddr = RESERVED - 0x100;
	return img->len;
}

static size_t inside_reserved(struct image *img)
{
	img->ph[1].p_paddr = RESERVED + 0x10000;
	return img->len;
}

static size_t overlapping(struct image *img)
{
	img->ph[1].p_paddr = TEXT_GPA + 0x1233;
	return img->len;
}

static size_t contained(struct image *img)
{
	img->ph[1].p_paddr = TEXT_GPA + 0x10;
	img->ph[1].p_filesz = 0x10;
	img->ph[1].p_memsz = 0x10;
	return img->len;
}

static size_t same_start(struct image *img)
{
	img->ph[1].p_paddr = TEXT_GPA;
	return img->len;
}

static void with_config(struct image_spec *s)
{
	*s = config_spec();
}

static size_t config_outside_segments(struct image *img)
{
	img->sh[2].sh_addr = 0x800000;
	return img->len;
}

static size_t config_past_segment_end(struct image *img)
{
	img->sh[2].sh_addr = CONFIG_VA + 0x100 - 0x20;
	return img->len;
}

static size_t config_not_alloc(struct image *img)
{
	img->sh[2].sh_flags = SHF_WRITE;
	return img->len;
}

static const struct reject_case rejects[] = {
	{ "empty file", "truncated", empty_file, NULL },
	{ "three bytes", "truncated", three_bytes, NULL },
	{ "header cut short", "truncated ELF header", half_header, NULL },
	{ "bad magic", "magic", bad_magic, NULL },
	{ "ELFCLASS32", "class", elf32, NULL },
	{ "big-endian", "data encoding", big_endian, NULL },
	{ "e_ident version 0", "ident version", bad_ident_version, NULL },
	{ "ET_DYN", "type", shared_object, NULL },
	{ "ET_REL", "type", relocatable, NULL },
	{ "EM_386", "machine", em_386, NULL },
	{ "EM_AARCH64", "machine", aarch64, NULL },
	{ "e_version 2", "ELF version", bad_version, NULL },
	{ "32-bit phentsize", "e_phentsize", bad_phentsize, NULL },
	{ "oversized phentsize", "e_phentsize", big_phentsize, NULL },
	{ "program headers past the end", "program headers", phdrs_past_end, NULL },
	{ "program header offset wraps", "program headers", phdrs_wrap, NULL },
	{ "1000 program headers", "program headers", too_many_phdrs, NULL },
	{ "PN_XNUM", "PN_XNUM", pn_xnum, NULL },
	{ "no program headers", "no PT_LOAD", no_phdrs, NULL },
	{ "no PT_LOAD among headers", "no PT_LOAD", no_pt_load, NULL },
	{ "segment file range past the end", "outside the", file_range_past_end, NULL },
	{ "segment file offset wraps", "outside the", file_range_wraps, NULL },
	{ "file truncated inside a segment", "truncated", truncated_in_segment, NULL },
	{ "p_filesz > p_memsz", "exceeds p_memsz", filesz_over_memsz, NULL },
	{ "p_paddr + p_memsz wraps", "overflow", paddr_memsz_overflow, NULL },
	{ "p_memsz all ones", "overflow", memsz_overflow, NULL },
	{ "segment at the end of RAM", "outside guest RAM", beyond_ram, NULL },
	{ "segment at 1 TiB", "outside guest RAM", far_beyond_ram, NULL },
	{ "segment across the end of RAM", "outside guest RAM", straddles_end_of_ram, NULL },
	{ "empty segment beyond RAM", "outside guest RAM", empty_segment_beyond_ram, NULL },
	{ "segment into the reserved region", "reserved region", into_reserved, NULL },
	{ "segment inside the reserved region", "reserved region", inside_reserved, NULL },
	{ "segments overlapping by a byte", "overlaps segment", overlapping, NULL },
	{ "segment inside another", "overlaps segment", contained, NULL },
	{ "segments at the same GPA", "overlaps segment", same_start, NULL },
	{ ".rvconfig in no segment", ".rvconfig", config_outside_segments, with_config },
	{ ".rvconfig past its segment's end", ".rvconfig", config_past_segment_end, with_config },
	{ ".rvconfig not allocated", "SHF_ALLOC", config_not_alloc, with_config },
};

#define NR_REJECTS (int)(sizeof(rejects) / sizeof(rejects[0]))

START_TEST(bad_image_is_rejected_naming_the_problem_with_ram_untouched)
{
	const struct reject_case *c = &rejects[_i];
	struct image_spec s = good_spec();
	struct image img;
	struct rv_elf_info info = { .entry = 0x1234 };
	char err[256] = "";
	size_t len;

	if (c->spec)
		c->spec(&s);
	img = build(&s);
	len = c->make(&img);
	ck_assert_msg(load_len(&img, len, &ram.mem, RESERVED, &info, err, sizeof(err)) == -1,
		      "%s: accepted", c->name);
	ck_assert_msg(strstr(err, c->expect), "%s: message '%s' lacks '%s'", c->name, err,
		      c->expect);
	ck_assert_msg(is_pattern(ram.buf, RAM_SIZE), "%s: guest RAM written", c->name);
	ck_assert_msg(info.entry == 0x1234, "%s: info written", c->name);
	free(img.buf);
}
END_TEST

START_TEST(hole_in_guest_ram_is_found_before_anything_is_written)
{
	struct image_spec s = good_spec();
	struct image img = build(&s);
	struct rv_elf_info info;
	char err[256] = "";

	ram.hole = DATA_GPA + 0x2000;
	ck_assert_int_eq(load(&img, &info, err), -1);
	ck_assert_msg(strstr(err, "not accessible"), "%s", err);
	ck_assert(is_pattern(ram.buf, RAM_SIZE));
	free(img.buf);
}
END_TEST

START_TEST(reserved_start_past_ram_is_a_caller_error)
{
	struct image_spec s = good_spec();
	struct image img = build(&s);
	struct rv_elf_info info;
	char err[256] = "";

	ck_assert_int_eq(load_len(&img, img.len, &ram.mem, RAM_SIZE + 1, &info, err, sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "reserved region"), "%s", err);
	/* And a NULL or empty error buffer is fine. */
	ck_assert_int_eq(load_len(&img, 3, &ram.mem, RESERVED, &info, NULL, 0), -1);
	ck_assert_int_eq(load_len(&img, 3, &ram.mem, RESERVED, &info, err, 0), -1);
	ck_assert(is_pattern(ram.buf, RAM_SIZE));
	free(img.buf);
}
END_TEST

START_TEST(many_segments_are_checked_for_overlap_in_any_order)
{
	/* Hundreds of one-page segments, out of order; then one duplicate. */
	enum { N = 600 };
	size_t len = sizeof(Elf64_Ehdr) + (N + 1) * sizeof(Elf64_Phdr);
	uint8_t *buf = calloc(1, len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	struct image_spec s = good_spec();
	struct image img = { .buf = buf, .len = len, .eh = eh, .ph = ph };
	struct rv_elf_info info;
	char err[256] = "";

	build_ehdr(&img, &s);
	eh->e_phnum = N;
	for (int i = 0; i < N; i++)
		ph[i] = (Elf64_Phdr){ .p_type = PT_LOAD,
				      .p_paddr = (uint64_t)((i * 7919) % N) * PAGE,
				      .p_memsz = PAGE };
	ck_assert_msg(load(&img, &info, err) == 0, "%s", err);
	ck_assert_uint_eq(info.load_end, N * PAGE);
	memset(ram.buf, PATTERN, RAM_SIZE);
	ph[N] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_paddr = 123 * PAGE + 5, .p_memsz = 1 };
	eh->e_phnum = N + 1;
	ck_assert_int_eq(load(&img, &info, err), -1);
	ck_assert_msg(strstr(err, "overlaps segment"), "%s", err);
	ck_assert(is_pattern(ram.buf, RAM_SIZE));
	free(buf);
}
END_TEST

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Values that sit on the boundaries the loader checks. */
static uint64_t nasty(size_t len)
{
	static const uint64_t v[] = { 0,	1,	    0x40,	0x1000,		RAM_SIZE,
				      RESERVED, UINT32_MAX, UINT64_MAX, UINT64_MAX - 1, 1ull << 63,
				      0xffff };
	uint64_t r = rng();

	if (r % 3 == 0)
		return len - (r >> 8) % 8;
	return v[(r >> 8) % (sizeof(v) / sizeof(v[0]))];
}

static void mutate(struct image *img)
{
	/* The headers are where the pointers are: aim most changes there. */
	size_t hot = sizeof(Elf64_Ehdr) + img->eh->e_phnum * sizeof(Elf64_Phdr);
	size_t shoff = img->eh->e_shoff, sections = img->len - shoff;
	int n = 1 + rng() % 4;

	for (int k = 0; k < n; k++) {
		uint64_t r = rng();
		size_t at = (r >> 8) % img->len;
		uint64_t v = nasty(img->len);

		if (r & 1)
			at = (r >> 8) % hot;
		else if (r & 8)
			at = shoff + (r >> 8) % sections;
		if ((r & 6) == 0 && at + 8 <= img->len)
			memcpy(img->buf + (at & ~(size_t)7), &v, 8);
		else
			img->buf[at] ^= (uint8_t)(1 + (r >> 40) % 255);
	}
}

START_TEST(hostile_images_never_crash_or_write_when_rejected)
{
	unsigned long rounds = test_scale("RV_STRESS_LOADER_FUZZ", 20000);
	struct image_spec s = config_spec();
	struct image good = build(&s);
	unsigned accepted = 0;

	for (unsigned long i = 0; i < rounds; i++) {
		struct image img = good;
		struct rv_elf_info info;
		char err[256] = "";
		size_t len;

		img.buf = malloc(good.len);
		memcpy(img.buf, good.buf, good.len);
		img.eh = (Elf64_Ehdr *)img.buf;
		mutate(&img);
		len = rng() % 8 ? img.len : rng() % img.len;
		if (load_len(&img, len, &ram.mem, RESERVED, &info, err, sizeof(err)) == 0) {
			accepted++;
			touched_pages_untouched(&ram, true);
		} else {
			ck_assert_msg(err[0], "round %lu: rejected without a message", i);
			ck_assert_msg(touched_pages_untouched(&ram, true),
				      "round %lu: rejected (%s) after writing", i, err);
		}
		free(img.buf);
	}
	ck_assert_uint_gt(accepted, 0);
	free(good.buf);
}
END_TEST

/* --- The boot state --- */

/*
 * Every bit outside the address but P, RW and (in the PD) PS must be clear:
 * US (supervisor), PWT, PCD, A, D, G (not global), bits 52-62 and NX.
 */
#define PTE_P	 (1ull << 0)
#define PTE_RW	 (1ull << 1)
#define PTE_PS	 (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

static uint64_t read64(const struct rv_phys_access *m, uint64_t gpa)
{
	const uint8_t *p = m->page(m->ctx, gpa);
	uint64_t v = 0;

	ck_assert_msg(p, "GPA %#" PRIx64 " not in RAM", gpa);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* What a walk found: a translation, no translation, or a broken entry. */
struct walk {
	bool mapped;
	uint64_t pa;
	char bad[160]; /* empty unless an entry breaks §2 */
};

static bool entry_ok(struct walk *w, const struct rv_boot *b, uint64_t va, int level, uint64_t e)
{
	uint64_t table = e & PTE_ADDR;

	if ((e & ~PTE_ADDR & ~PTE_PS) != (PTE_P | PTE_RW))
		snprintf(w->bad, sizeof(w->bad), "bad flags");
	else if (level == 2 && !(e & PTE_PS))
		snprintf(w->bad, sizeof(w->bad), "PD entry is not a 2 MiB page");
	else if (level == 2 && (table & (SZ_2M - 1)))
		snprintf(w->bad, sizeof(w->bad), "2 MiB page misaligned or PAT set");
	else if (level > 2 && (e & PTE_PS))
		snprintf(w->bad, sizeof(w->bad), "large page above the PD");
	else if (level > 2 && (table < b->reserved_start || table >= b->mem_size))
		snprintf(w->bad, sizeof(w->bad), "table outside the reserved region");
	if (!w->bad[0])
		return true;
	snprintf(w->bad + strlen(w->bad), sizeof(w->bad) - strlen(w->bad),
		 ": va %#" PRIx64 " level %d entry %#" PRIx64, va, level, e);
	return false;
}

/*
 * Translate @va through the boot tables as a CPU would, checking every entry
 * on the way against §2: present ones are writable, supervisor, executable,
 * not global, with A and D clear and their tables in the reserved region;
 * absent ones are all zero.
 */
static struct walk walk(const struct rv_phys_access *m, const struct rv_boot *b, uint64_t va)
{
	struct walk w = { 0 };
	uint64_t table = b->cr3;

	for (int level = 4; level >= 2; level--) {
		uint64_t e = read64(m, table + ((va >> (3 + 9 * level)) & 511) * 8);

		if (!(e & PTE_P)) {
			if (e)
				snprintf(w.bad, sizeof(w.bad),
					 "junk in an absent entry: va %#" PRIx64 " level %d", va,
					 level);
			return w;
		}
		if (!entry_ok(&w, b, va, level, e))
			return w;
		table = e & PTE_ADDR;
	}
	w.mapped = true;
	w.pa = table | (va & (SZ_2M - 1));
	return w;
}

static void check_identity(const struct rv_phys_access *m, const struct rv_boot *b, uint64_t va)
{
	struct walk w = walk(m, b, va);

	ck_assert_msg(!w.bad[0], "%s", w.bad);
	ck_assert_msg(w.mapped && w.pa == va, "va %#" PRIx64 " maps to %#" PRIx64 " (%d)", va, w.pa,
		      w.mapped);
}

static void check_unmapped(const struct rv_phys_access *m, const struct rv_boot *b, uint64_t va)
{
	struct walk w = walk(m, b, va);

	ck_assert_msg(!w.bad[0], "%s", w.bad);
	ck_assert_msg(!w.mapped, "va %#" PRIx64 " beyond RAM is mapped", va);
}

/* Identity across RAM: both ends of every 2 MiB page (a sample past 4096 pages), none beyond. */
static void check_tables(const struct rv_phys_access *m, const struct rv_boot *b)
{
	uint64_t size = m->size, pages = size / SZ_2M;
	uint64_t step = pages > 4096 ? pages / 4096 : 1;

	for (uint64_t p = 0; p < pages; p += step) {
		check_identity(m, b, p * SZ_2M);
		check_identity(m, b, p * SZ_2M + SZ_2M - 1);
	}
	for (int i = 0; i < 1000; i++)
		check_identity(m, b, rng() % size);
	check_identity(m, b, size - 1);
	check_identity(m, b, b->reserved_start);
	check_identity(m, b, b->cr3);
	check_unmapped(m, b, size);
	check_unmapped(m, b, size + SZ_2M - 1);
	check_unmapped(m, b, (size + SZ_1G) & ~(SZ_1G - 1));
	check_unmapped(m, b, (size + (512ull << 30)) & ~((512ull << 30) - 1));
	check_unmapped(m, b, (1ull << 47) - 1);
}

START_TEST(mem_size_check_accepts_16m_and_2m_multiples_only)
{
	char err[256] = "";

	ck_assert_int_eq(rv_boot_check_mem(16ull << 20, err, sizeof(err)), 0);
	ck_assert_int_eq(rv_boot_check_mem(18ull << 20, err, sizeof(err)), 0);
	ck_assert_int_eq(rv_boot_check_mem(256ull << 20, err, sizeof(err)), 0);
	ck_assert_int_eq(rv_boot_check_mem(128ull << 40, err, sizeof(err)), 0);
	ck_assert_int_eq(rv_boot_check_mem(14ull << 20, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "at least 16 MiB"), "%s", err);
	ck_assert_int_eq(rv_boot_check_mem(0, err, sizeof(err)), -1);
	ck_assert_int_eq(rv_boot_check_mem((16ull << 20) + 4096, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "multiple of 2 MiB"), "%s", err);
	ck_assert_int_eq(rv_boot_check_mem(17ull << 20, err, sizeof(err)), -1);
	ck_assert_int_eq(rv_boot_check_mem((128ull << 40) + SZ_2M, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "at most"), "%s", err);
	ck_assert_int_eq(rv_boot_check_mem(UINT64_MAX & ~(SZ_2M - 1), NULL, 0), -1);
}
END_TEST

START_TEST(boot_identity_maps_16m_and_writes_nothing_below_reserved_start)
{
	struct rv_boot b;
	char err[256] = "";

	ck_assert_msg(rv_boot_build(&ram.mem, 4, &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(b.reserved_start % PAGE, 0);
	ck_assert_uint_gt(b.reserved_start, 0);
	ck_assert_uint_lt(b.reserved_start, RAM_SIZE);
	ck_assert_uint_eq(b.mem_size, RAM_SIZE);
	ck_assert(is_pattern(ram.buf, b.reserved_start));
	/* The region is all boot state: no byte keeps what RAM held. */
	for (uint64_t p = b.reserved_start; p < RAM_SIZE; p += PAGE)
		ck_assert_msg(!is_pattern(ram.buf + p, 8), "page %#" PRIx64 " not written", p);
	check_tables(&ram.mem, &b);
}
END_TEST

START_TEST(boot_identity_maps_ram_of_every_shape)
{
	static const uint64_t sizes[] = {
		256ull << 20,		    /* the default */
		SZ_1G + SZ_2M,		    /* a second PD with one entry */
		(512ull << 30),		    /* one full PDPT */
		(512ull << 30) + SZ_2M,	    /* a second PDPT */
		(1ull << 40) + (6ull << 30) /* three PDPTs */
	};
	uint64_t size = sizes[_i];
	struct sparse_ram *r = sparse_new(size);
	struct rv_boot b;
	char err[256] = "";

	ck_assert_msg(rv_boot_build(&r->mem, 16, &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(b.reserved_start % PAGE, 0);
	check_tables(&r->mem, &b);
	/* A guest's own GPAs just below the region are mapped too. */
	check_identity(&r->mem, &b, b.reserved_start - 1);
	sparse_free(r);
}
END_TEST

START_TEST(gdt_has_null_64bit_code_and_flat_data_marked_accessed)
{
	struct rv_boot b;
	uint64_t code, data;
	char err[256] = "";

	ck_assert_msg(rv_boot_build(&ram.mem, 2, &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(b.gdt_limit, 3 * 8 - 1);
	ck_assert_uint_ge(b.gdt_base, b.reserved_start);
	ck_assert_uint_le(b.gdt_base + b.gdt_limit + 1, RAM_SIZE);
	ck_assert_uint_eq(b.gdt_base % 8, 0);
	ck_assert_uint_eq(read64(&ram.mem, b.gdt_base), 0);
	code = read64(&ram.mem, b.gdt_base + 0x08);
	data = read64(&ram.mem, b.gdt_base + 0x10);
	/* Access byte: P, DPL 0, S; code execute/read accessed, data read/write accessed. */
	ck_assert_uint_eq((code >> 40) & 0xff, 0x9b);
	ck_assert_uint_eq((data >> 40) & 0xff, 0x93);
	/* Flags: code L=1 D=0; data D/B=1; both G=1. */
	ck_assert_uint_eq((code >> 52) & 0xf, 0xa);
	ck_assert_uint_eq((data >> 52) & 0xf, 0xc);
	/* Flat: base 0, limit 0xfffff pages. */
	ck_assert_uint_eq(data & 0xffff, 0xffff);
	ck_assert_uint_eq((data >> 48) & 0xf, 0xf);
	ck_assert_uint_eq((data >> 16) & 0xffffff, 0);
	ck_assert_uint_eq(data >> 56, 0);
	ck_assert_uint_eq((code >> 16) & 0xffffff, 0);
	ck_assert_uint_eq(code >> 56, 0);
}
END_TEST

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

START_TEST(stacks_are_distinct_aligned_zeroed_and_inside_the_reserved_region)
{
	enum { N = 64 };
	struct rv_boot b;
	uint64_t top[N];
	char err[256] = "";

	ck_assert_msg(rv_boot_build(&ram.mem, N, &b, err, sizeof(err)) == 0, "%s", err);
	for (uint32_t i = 0; i < N; i++) {
		uint64_t lo;

		top[i] = rv_boot_stack_top(&b, i);
		lo = top[i] - RV_BOOT_STACK_SIZE;
		ck_assert_uint_eq(top[i] % 16, 0);
		ck_assert_uint_ge(lo, b.reserved_start);
		ck_assert_uint_le(top[i], RAM_SIZE);
		ck_assert(!ranges_overlap(lo, RV_BOOT_STACK_SIZE, b.gdt_base, PAGE));
		ck_assert(!ranges_overlap(lo, RV_BOOT_STACK_SIZE, b.cr3, PAGE));
		ck_assert_msg(all_zero(ram.buf + lo, RV_BOOT_STACK_SIZE), "stack %u not zeroed", i);
		for (uint32_t j = 0; j < i; j++)
			ck_assert(!ranges_overlap(lo, RV_BOOT_STACK_SIZE,
						  top[j] - RV_BOOT_STACK_SIZE, RV_BOOT_STACK_SIZE));
	}
	ck_assert_uint_eq(rv_boot_stack_top(&b, N), 0);
	/* No stack holds a page table: the walk below reads them all intact. */
	for (uint32_t i = 0; i < N; i++)
		memset(ram.buf + top[i] - RV_BOOT_STACK_SIZE, 0xff, RV_BOOT_STACK_SIZE);
	check_tables(&ram.mem, &b);
}
END_TEST

START_TEST(initial_cpu_state_follows_section_3)
{
	struct rv_boot b;
	struct rv_boot_cpu c;
	char err[256] = "";

	ck_assert_msg(rv_boot_build(&ram.mem, 3, &b, err, sizeof(err)) == 0, "%s", err);
	memset(&c, 0xcc, sizeof(c));
	rv_boot_cpu_state(&b, 2, 3, ENTRY, &c);
	ck_assert_uint_eq(c.rip, ENTRY);
	ck_assert_uint_eq(c.gpr[RV_BOOT_RSP], rv_boot_stack_top(&b, 2));
	ck_assert_uint_eq(c.gpr[RV_BOOT_RDI], 2);
	ck_assert_uint_eq(c.gpr[RV_BOOT_RSI], 3);
	ck_assert_uint_eq(c.gpr[RV_BOOT_RDX], b.reserved_start);
	for (int r = 0; r < 16; r++)
		if (r != RV_BOOT_RSP && r != RV_BOOT_RDI && r != RV_BOOT_RSI && r != RV_BOOT_RDX)
			ck_assert_msg(c.gpr[r] == 0, "gpr %d = %#" PRIx64, r, c.gpr[r]);
	ck_assert_uint_eq(c.rflags, 0x2);
	ck_assert_uint_eq(c.cr0, 0x80050033);
	ck_assert_uint_eq(c.cr3, b.cr3);
	ck_assert_uint_eq(c.cr4, 0xa0);
	ck_assert_uint_eq(c.efer, 0xd00);
	ck_assert_uint_eq(c.cs, 0x08);
	ck_assert_uint_eq(c.ss, 0x10);
	ck_assert_uint_eq(c.ds, 0x10);
	ck_assert_uint_eq(c.es, 0x10);
	ck_assert_uint_eq(c.fs, 0x10);
	ck_assert_uint_eq(c.gs, 0x10);
	ck_assert_uint_eq(c.gdt_base, b.gdt_base);
	ck_assert_uint_eq(c.gdt_limit, 23);
	ck_assert_uint_eq(c.idt_base, 0);
	ck_assert_uint_eq(c.idt_limit, 0);
	/* CR3 is the PML4 with PCID 0: page-aligned, no flag bits. */
	ck_assert_uint_eq(c.cr3 % PAGE, 0);
	ck_assert_uint_ge(c.cr3, b.reserved_start);
	rv_boot_cpu_state(&b, 0, 3, ENTRY, &c);
	ck_assert_uint_eq(c.gpr[RV_BOOT_RDI], 0);
	ck_assert_uint_ne(c.gpr[RV_BOOT_RSP], rv_boot_stack_top(&b, 2));
}
END_TEST

START_TEST(too_many_vcpus_for_the_ram_fail_with_ram_untouched)
{
	struct rv_boot b = { .cr3 = 1 };
	char err[256] = "";
	uint32_t fit = 1, nofit = 4096;

	ck_assert_int_eq(rv_boot_build(&ram.mem, 4096, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "vCPUs"), "%s", err);
	ck_assert_int_eq(rv_boot_build(&ram.mem, 0, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "vCPUs"), "%s", err);
	ck_assert(is_pattern(ram.buf, RAM_SIZE));
	ck_assert_uint_eq(b.cr3, 1);
	/* The largest count that fits leaves the guest at least 2 MiB, and one more does not fit.
	 */
	while (nofit - fit > 1) {
		uint32_t n = fit + (nofit - fit) / 2;

		if (rv_boot_build(&ram.mem, n, &b, err, sizeof(err)))
			nofit = n;
		else
			fit = n;
	}
	ck_assert_int_eq(rv_boot_build(&ram.mem, fit, &b, err, sizeof(err)), 0);
	ck_assert_uint_ge(b.reserved_start, RV_BOOT_MIN_GUEST_MEM);
	ck_assert_uint_lt(b.reserved_start - RV_BOOT_MIN_GUEST_MEM, RV_BOOT_STACK_SIZE);
	ck_assert_uint_gt(fit, 400); /* 14 MiB of 32 KiB stacks, less the tables */
}
END_TEST

START_TEST(bad_ram_size_or_hole_fails_the_boot_build_with_ram_untouched)
{
	struct flat_ram odd;
	struct rv_boot b;
	char err[256] = "";

	flat_init(&odd, (16ull << 20) + PAGE);
	ck_assert_int_eq(rv_boot_build(&odd.mem, 1, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "multiple of 2 MiB"), "%s", err);
	ck_assert(is_pattern(odd.buf, odd.size));
	flat_free(&odd);
	ram.hole = RAM_SIZE - PAGE;
	ck_assert_int_eq(rv_boot_build(&ram.mem, 1, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not accessible"), "%s", err);
	ck_assert(is_pattern(ram.buf, RAM_SIZE));
}
END_TEST

START_TEST(loader_rejects_exactly_what_touches_the_boot_reserved_region)
{
	struct image_spec s = good_spec();
	struct image img;
	struct rv_boot b;
	struct rv_elf_info info;
	char err[256] = "";

	ck_assert_msg(rv_boot_build(&ram.mem, 8, &b, err, sizeof(err)) == 0, "%s", err);
	s.seg[1] = load_seg(b.reserved_start - 0x2000, 0x800, 0x2001, 0x66);
	img = build(&s);
	ck_assert_int_eq(
		load_len(&img, img.len, &ram.mem, b.reserved_start, &info, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "reserved region"), "%s", err);
	img.ph[1].p_memsz = 0x2000;
	ck_assert_msg(
		load_len(&img, img.len, &ram.mem, b.reserved_start, &info, err, sizeof(err)) == 0,
		"%s", err);
	/* Loading left the boot state alone. */
	check_tables(&ram.mem, &b);
	free(img.buf);
}
END_TEST

#ifdef RV_LOADER_GUEST
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	ck_assert_msg(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n);
	ck_assert(buf && fread(buf, 1, n, f) == (size_t)n);
	fclose(f);
	*len = n;
	return buf;
}

/* The gcc-built guest, checked against its own program headers read independently. */
START_TEST(gcc_built_guest_loads_with_its_rvconfig)
{
	size_t len;
	uint8_t *elf = read_file(RV_LOADER_GUEST, &len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	struct rv_guest_config cfg;
	struct rv_boot b;
	struct rv_elf_info info;
	char err[256] = "";
	unsigned loads = 0;

	ck_assert_msg(rv_boot_build(&ram.mem, 4, &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(rv_elf_load(elf, len, &ram.mem, b.reserved_start, &info, err, sizeof(err)) ==
			      0,
		      "%s", err);
	ck_assert_uint_eq(info.entry, eh->e_entry);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD)
			continue;
		loads++;
		ck_assert(!memcmp(ram.buf + ph->p_paddr, elf + ph->p_offset, ph->p_filesz));
		ck_assert(
			all_zero(ram.buf + ph->p_paddr + ph->p_filesz, ph->p_memsz - ph->p_filesz));
	}
	ck_assert_uint_eq(info.nr_loads, loads);
	ck_assert(memmem(ram.buf, b.reserved_start, "reqvisor loader test guest", 26));
	ck_assert(info.has_config);
	ck_assert_uint_eq(info.config_size, 64);
	ck_assert_uint_eq(rv_elf_read_config(&ram.mem, &info, &cfg), 64);
	ck_assert_uint_eq(cfg.magic, 0); /* the guest left its block zero */
	cfg.magic = RV_GUEST_CONFIG_MAGIC;
	cfg.version = RV_GUEST_CONFIG_VERSION;
	cfg.rounds = 5;
	ck_assert_uint_eq(rv_elf_write_config(&ram.mem, &info, &cfg), 64);
	ck_assert(!memcmp(ram.buf + info.config_gpa, "RVCF\1\0\0\0\5", 9));
	free(elf);
}
END_TEST
#endif

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("elf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, good_image_loads_segments_zeroes_bss_and_reports_entry);
	tcase_add_test(tc, other_program_headers_are_ignored_even_when_bogus);
	tcase_add_test(tc, segment_ending_exactly_at_reserved_start_is_accepted);
	tcase_add_test(tc, bss_only_segment_is_zeroed_whatever_its_file_offset);
	tcase_add_test(tc, touching_segments_are_not_an_overlap);
	tcase_add_test(tc, rvconfig_section_is_found_at_its_segment_gpa);
	tcase_add_test(tc, rvconfig_block_is_written_little_endian_within_the_section);
	tcase_add_test(tc, rvconfig_block_reads_back_the_image_defaults);
	tcase_add_loop_test(tc, broken_section_table_loads_without_rvconfig, 0, 10);
	tcase_add_test(tc, extended_section_numbering_still_finds_rvconfig);
	tcase_add_loop_test(tc, bad_image_is_rejected_naming_the_problem_with_ram_untouched, 0,
			    NR_REJECTS);
	tcase_add_test(tc, hole_in_guest_ram_is_found_before_anything_is_written);
	tcase_add_test(tc, reserved_start_past_ram_is_a_caller_error);
	tcase_add_test(tc, many_segments_are_checked_for_overlap_in_any_order);
	tcase_add_test(tc, hostile_images_never_crash_or_write_when_rejected);
#ifdef RV_LOADER_GUEST
	tcase_add_test(tc, gcc_built_guest_loads_with_its_rvconfig);
#endif
	suite_add_tcase(s, tc);
	tc = tcase_create("boot");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mem_size_check_accepts_16m_and_2m_multiples_only);
	tcase_add_test(tc, boot_identity_maps_16m_and_writes_nothing_below_reserved_start);
	tcase_add_loop_test(tc, boot_identity_maps_ram_of_every_shape, 0, 5);
	tcase_add_test(tc, gdt_has_null_64bit_code_and_flat_data_marked_accessed);
	tcase_add_test(tc, stacks_are_distinct_aligned_zeroed_and_inside_the_reserved_region);
	tcase_add_test(tc, initial_cpu_state_follows_section_3);
	tcase_add_test(tc, too_many_vcpus_for_the_ram_fail_with_ram_untouched);
	tcase_add_test(tc, bad_ram_size_or_hole_fails_the_boot_build_with_ram_untouched);
	tcase_add_test(tc, loader_rejects_exactly_what_touches_the_boot_reserved_region);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(loader_suite());
}
