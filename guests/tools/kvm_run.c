// SPDX-License-Identifier: MIT
/*
 * guest-kvm-run: run a guest image on /dev/kvm in the initial state
 * GUEST_ABI.md §1-§5 describes, to try guests before reqvisor can run them.
 *
 *   guest-kvm-run [--vcpus N] [--mem MIB] [--timeout S] [--console-prefix]
 *                 [--rounds N] [--pages N] [--seed N] GUEST.elf
 *
 * The loader copies each PT_LOAD to its p_paddr and zeroes the rest of
 * p_memsz; --rounds, --pages and --seed rewrite the image's .rvconfig. The
 * reserved region at the top of RAM holds, from its first byte (RDX): the
 * boot GDT, the boot page tables (PML4, PDPT, one PD per GiB; 2 MiB pages,
 * present, writable, supervisor, executable, not global), then one 32 KiB
 * stack per vCPU, vCPU 0's at the very top. KVM's in-kernel local APIC, in
 * x2APIC mode and software-enabled, provides the IPIs and HLT.
 *
 * Port 0xE9 is a console, line-buffered per vCPU; a dword to port 0xF4 stops
 * the VM. Exit status: 0 the guest exited 0, 1 it exited nonzero, 2 bad
 * usage or image, 3 triple fault or a KVM failure, 4 timeout.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE	   0x1000ull
#define HUGE	   0x200000ull
#define GIB	   0x40000000ull
#define STACK_SIZE 0x8000ull
#define MAX_VCPUS  64
#define LINE_MAX_  256

#define PORT_CONSOLE 0xe9
#define PORT_EXIT    0xf4

#define PTE_P  (1ull << 0)
#define PTE_W  (1ull << 1)
#define PTE_PS (1ull << 7)

#define MSR_APIC_BASE	 0x1b
#define APIC_BASE_ADDR	 0xfee00000ull
#define APIC_BASE_BSP	 (1ull << 8)
#define APIC_BASE_EXTD	 (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_REG_SVR	 0xf0

#define STATUS_FAILED  1
#define STATUS_USAGE   2
#define STATUS_BROKEN  3
#define STATUS_TIMEOUT 4

struct config_patch {
	bool rounds_set, pages_set, seed_set;
	uint64_t rounds, pages, seed;
};

struct vcpu {
	int index, fd;
	struct kvm_run *run;
	pthread_t thread;
	char line[LINE_MAX_];
	size_t len;
};

struct vm {
	int kvm, fd, nvcpus;
	uint8_t *mem;
	uint64_t mem_size, reserved, gdt, pml4, stacks;
	uint64_t entry;
	size_t run_size;
	bool prefix;
	struct kvm_cpuid2 *cpuid;
	struct vcpu vcpus[MAX_VCPUS];
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static bool done;
static int final_status;
static struct vm vm;

__attribute__((format(printf, 2, 3), noreturn)) static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "guest-kvm-run: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(vm.mem + gpa, &v, sizeof(v));
}

/* ---- The image ---- */

static uint8_t *read_file(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(STATUS_USAGE, "%s: %s", path, strerror(errno));
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf || read(fd, buf, st.st_size) != st.st_size)
		die(STATUS_USAGE, "%s: cannot read it", path);
	close(fd);
	*size = st.st_size;
	return buf;
}

static void load_segment(const char *path, const uint8_t *img, size_t size, const Elf64_Phdr *p)
{
	if (p->p_filesz > p->p_memsz || p->p_offset + p->p_filesz > size ||
	    p->p_offset + p->p_filesz < p->p_offset)
		die(STATUS_USAGE, "%s: a PT_LOAD is truncated", path);
	if (p->p_paddr + p->p_memsz > vm.reserved || p->p_paddr + p->p_memsz < p->p_paddr)
		die(STATUS_USAGE, "%s: PT_LOAD [%#lx, %#lx) reaches the reserved region at %#lx",
		    path, p->p_paddr, p->p_paddr + p->p_memsz, vm.reserved);
	memcpy(vm.mem + p->p_paddr, img + p->p_offset, p->p_filesz);
	memset(vm.mem + p->p_paddr + p->p_filesz, 0, p->p_memsz - p->p_filesz);
}

/* Rewrite the loaded .rvconfig block; it is in a PT_LOAD, so at its guest address. */
static void patch_config(const char *path, const uint8_t *img, size_t size,
			 const struct config_patch *cp)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Shdr *sh = (const void *)(img + eh->e_shoff);
	const char *names;

	if (!cp->rounds_set && !cp->pages_set && !cp->seed_set)
		return;
	if (!eh->e_shoff || eh->e_shoff + eh->e_shnum * sizeof(*sh) > size ||
	    eh->e_shstrndx >= eh->e_shnum)
		die(STATUS_USAGE, "%s: no section headers to find .rvconfig in", path);
	names = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		uint8_t *block = vm.mem + sh[i].sh_addr;
		uint32_t magic;

		if (strcmp(names + sh[i].sh_name, ".rvconfig"))
			continue;
		memcpy(&magic, block, 4);
		if (sh[i].sh_size < 64 || sh[i].sh_addr + 64 > vm.reserved || magic != 0x46435652)
			die(STATUS_USAGE, "%s: .rvconfig is not a configuration block", path);
		if (cp->rounds_set)
			memcpy(block + 8, &cp->rounds, 8);
		if (cp->pages_set)
			memcpy(block + 16, &cp->pages, 8);
		if (cp->seed_set)
			memcpy(block + 24, &cp->seed, 8);
		return;
	}
	die(STATUS_USAGE, "%s: no .rvconfig section to apply --rounds/--pages/--seed to", path);
}

static void load_image(const char *path, const struct config_patch *cp)
{
	size_t size;
	uint8_t *img = read_file(path, &size);
	const Elf64_Ehdr *eh = (const void *)img;
	int loads = 0;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		die(STATUS_USAGE, "%s: not an ELF file", path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_EXEC)
		die(STATUS_USAGE, "%s: not an x86-64 ELF64 executable", path);
	if (eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size)
		die(STATUS_USAGE, "%s: truncated program headers", path);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = (const void *)(img + eh->e_phoff + i * sizeof(Elf64_Phdr));

		if (p->p_type != PT_LOAD)
			continue;
		load_segment(path, img, size, p);
		loads++;
	}
	if (!loads)
		die(STATUS_USAGE, "%s: no PT_LOAD segment", path);
	vm.entry = eh->e_entry;
	patch_config(path, img, size, cp);
	free(img);
}

/* ---- The reserved region: GDT, boot page tables, stacks ---- */

static void build_reserved(void)
{
	uint64_t npd = (vm.mem_size + GIB - 1) / GIB;
	uint64_t pdpt, pd;

	vm.stacks = vm.mem_size - vm.nvcpus * STACK_SIZE;
	vm.pml4 = vm.stacks - (2 + npd) * PAGE;
	vm.gdt = vm.pml4 - PAGE;
	vm.reserved = vm.gdt;
	pdpt = vm.pml4 + PAGE;
	pd = pdpt + PAGE;

	memset(vm.mem + vm.gdt, 0, vm.mem_size - vm.gdt);
	put64(vm.gdt + 0x08, 0x00af9b000000ffffull); /* 64-bit code: P, DPL 0, execute/read, L */
	put64(vm.gdt + 0x10, 0x00cf93000000ffffull); /* flat data: P, DPL 0, read/write, D/B, G */

	put64(vm.pml4, pdpt | PTE_P | PTE_W);
	for (uint64_t i = 0; i < npd; i++)
		put64(pdpt + 8 * i, (pd + i * PAGE) | PTE_P | PTE_W);
	for (uint64_t a = 0; a < vm.mem_size; a += HUGE)
		put64(pd + 8 * (a / HUGE), a | PTE_P | PTE_W | PTE_PS);
}

/* ---- vCPUs ---- */

static void set_cpuid(int fd)
{
	if (ioctl(fd, KVM_SET_CPUID2, vm.cpuid) < 0)
		die(STATUS_BROKEN, "KVM_SET_CPUID2: %s", strerror(errno));
}

static void get_cpuid(void)
{
	for (unsigned n = 64;; n *= 2) {
		vm.cpuid = calloc(1, sizeof(*vm.cpuid) + n * sizeof(vm.cpuid->entries[0]));
		vm.cpuid->nent = n;
		if (ioctl(vm.kvm, KVM_GET_SUPPORTED_CPUID, vm.cpuid) == 0)
			break;
		if (errno != E2BIG || n >= 4096)
			die(STATUS_BROKEN, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(vm.cpuid);
	}
	/*
	 * The ABI promises x2APIC, PCID and the hypervisor bit in leaf 1, and
	 * INVPCID in leaf 7 (§6). KVM without two-dimensional paging may not
	 * offer PCID and INVPCID, but its shadow MMU and INVPCID emulation
	 * still implement them once the guest's CPUID has them.
	 */
	for (unsigned i = 0; i < vm.cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm.cpuid->entries[i];

		if (e->function == 1)
			e->ecx |= 1u << 17 | 1u << 21 | 1u << 31;
		if (e->function == 7 && e->index == 0)
			e->ebx |= 1u << 10;
	}
}

static void set_sregs(struct vcpu *v)
{
	struct kvm_sregs sr;
	struct kvm_segment code = { .limit = 0xffffffff,
				    .selector = 0x08,
				    .type = 0xb,
				    .present = 1,
				    .s = 1,
				    .l = 1,
				    .g = 1 };
	struct kvm_segment data = { .limit = 0xffffffff,
				    .selector = 0x10,
				    .type = 0x3,
				    .present = 1,
				    .s = 1,
				    .db = 1,
				    .g = 1 };
	/* KVM wants a usable TR; the guest never sees it (no TSS in the ABI). */
	struct kvm_segment tr = {
		.base = vm.gdt + 0x800, .limit = 0x67, .type = 0xb, .present = 1
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		die(STATUS_BROKEN, "KVM_GET_SREGS: %s", strerror(errno));
	sr.cs = code;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.tr = tr;
	sr.ldt = (struct kvm_segment){ .type = 0x2, .unusable = 1 };
	sr.gdt.base = vm.gdt;
	sr.gdt.limit = 0x17;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = 0x80050033;
	sr.cr3 = vm.pml4;
	sr.cr4 = 0xa0;
	sr.efer = 0xd00;
	sr.apic_base = APIC_BASE_ADDR | APIC_BASE_ENABLE | APIC_BASE_EXTD |
		       (v->index == 0 ? APIC_BASE_BSP : 0);
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		die(STATUS_BROKEN, "KVM_SET_SREGS: %s", strerror(errno));
}

static void set_regs(struct vcpu *v)
{
	struct kvm_regs r = {
		.rip = vm.entry,
		.rsp = vm.mem_size - v->index * STACK_SIZE,
		.rdi = v->index,
		.rsi = vm.nvcpus,
		.rdx = vm.reserved,
		.rflags = 0x2,
	};

	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		die(STATUS_BROKEN, "KVM_SET_REGS: %s", strerror(errno));
}

/* x2APIC mode comes with apic_base in the sregs; then software-enable it (SVR = 0x1ff). */
static void set_apic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	uint32_t svr = 0x1ff;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		die(STATUS_BROKEN, "KVM_GET_LAPIC: %s", strerror(errno));
	memcpy(lapic.regs + APIC_REG_SVR, &svr, sizeof(svr));
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		die(STATUS_BROKEN, "KVM_SET_LAPIC: %s", strerror(errno));
}

/* With the in-kernel APIC, vCPUs other than 0 would wait for INIT-SIPI; all start at once here. */
static void set_runnable(struct vcpu *v)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		die(STATUS_BROKEN, "KVM_SET_MP_STATE: %s", strerror(errno));
}

static void create_vcpu(struct vcpu *v, int index)
{
	v->index = index;
	v->fd = ioctl(vm.fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0)
		die(STATUS_BROKEN, "KVM_CREATE_VCPU: %s", strerror(errno));
	v->run = mmap(NULL, vm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die(STATUS_BROKEN, "mapping kvm_run: %s", strerror(errno));
	set_cpuid(v->fd);
	set_sregs(v);
	set_regs(v);
	set_apic(v);
	set_runnable(v);
}

static void create_vm(void)
{
	struct kvm_userspace_memory_region slot;

	vm.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm.kvm < 0)
		die(STATUS_BROKEN, "/dev/kvm: %s", strerror(errno));
	vm.fd = ioctl(vm.kvm, KVM_CREATE_VM, 0);
	if (vm.fd < 0)
		die(STATUS_BROKEN, "KVM_CREATE_VM: %s", strerror(errno));
	ioctl(vm.fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (ioctl(vm.fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die(STATUS_BROKEN, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	vm.mem =
		mmap(NULL, vm.mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm.mem == MAP_FAILED)
		die(STATUS_BROKEN, "guest memory: %s", strerror(errno));
	slot = (struct kvm_userspace_memory_region){
		.memory_size = vm.mem_size,
		.userspace_addr = (uintptr_t)vm.mem,
	};
	if (ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		die(STATUS_BROKEN, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	vm.run_size = ioctl(vm.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	get_cpuid();
}

/* ---- Running ---- */

static void finish(int status)
{
	pthread_mutex_lock(&done_lock);
	if (!done) {
		done = true;
		final_status = status;
		for (int i = 0; i < vm.nvcpus; i++)
			vm.vcpus[i].run->immediate_exit = 1;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&done_lock);
}

static void flush_line(struct vcpu *v)
{
	pthread_mutex_lock(&out_lock);
	if (vm.prefix)
		printf("[%d] ", v->index);
	printf("%.*s\n", (int)v->len, v->line);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	v->len = 0;
}

static void port_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	uint32_t status = 0;

	if (r->io.direction == KVM_EXIT_IO_IN) {
		memset(data, 0xff, (size_t)r->io.size * r->io.count);
		return;
	}
	if (r->io.port == PORT_CONSOLE) {
		for (unsigned i = 0; i < r->io.count; i++) {
			char c = (char)data[i * r->io.size];

			if (c == '\n' || v->len == sizeof(v->line))
				flush_line(v);
			if (c != '\n')
				v->line[v->len++] = c;
		}
	} else if (r->io.port == PORT_EXIT) {
		memcpy(&status, data, r->io.size < 4 ? r->io.size : 4);
		pthread_mutex_lock(&out_lock);
		printf("guest-kvm-run: vCPU %d: exit status %u\n", v->index, status);
		pthread_mutex_unlock(&out_lock);
		finish(status ? STATUS_FAILED : 0);
	}
}

static void report_stop(struct vcpu *v, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	ioctl(v->fd, KVM_GET_REGS, &r);
	ioctl(v->fd, KVM_GET_SREGS, &sr);
	fprintf(stderr, "guest-kvm-run: vCPU %d: %s at RIP %#llx, RSP %#llx, CR2 %#llx\n", v->index,
		why, r.rip, r.rsp, sr.cr2);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	for (;;) {
		int rc = ioctl(v->fd, KVM_RUN, 0);

		if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
			return NULL;
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "guest-kvm-run: KVM_RUN: %s\n", strerror(errno));
			finish(STATUS_BROKEN);
			return NULL;
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			port_io(v);
			break;
		case KVM_EXIT_HLT:
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			report_stop(v, "triple fault");
			finish(STATUS_BROKEN);
			return NULL;
		case KVM_EXIT_INTERNAL_ERROR:
			/* E.g. KVM's emulator cannot do INT n in long mode. */
			report_stop(v, "KVM internal error (its emulator gave up)");
			fprintf(stderr, "guest-kvm-run: suberror %u\n", v->run->internal.suberror);
			finish(STATUS_BROKEN);
			return NULL;
		default:
			report_stop(v, "unexpected KVM exit");
			fprintf(stderr, "guest-kvm-run: exit reason %u\n", v->run->exit_reason);
			finish(STATUS_BROKEN);
			return NULL;
		}
	}
}

static void on_signal(int sig)
{
	(void)sig;
}

static int run_vm(unsigned timeout)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec deadline;
	int rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < vm.nvcpus; i++)
		pthread_create(&vm.vcpus[i].thread, NULL, vcpu_thread, &vm.vcpus[i]);

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout;
	pthread_mutex_lock(&done_lock);
	while (!done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&done_cond, &done_lock, &deadline);
	pthread_mutex_unlock(&done_lock);
	if (rc == ETIMEDOUT) {
		fprintf(stderr, "guest-kvm-run: timeout after %u s\n", timeout);
		finish(STATUS_TIMEOUT);
	}
	/* Kick every vCPU out of KVM_RUN; immediate_exit covers a kick that lands before it. */
	for (int i = 0; i < vm.nvcpus; i++)
		pthread_kill(vm.vcpus[i].thread, SIGUSR1);
	for (int i = 0; i < vm.nvcpus; i++) {
		pthread_join(vm.vcpus[i].thread, NULL);
		if (final_status == STATUS_TIMEOUT)
			report_stop(&vm.vcpus[i], "stopped");
		if (vm.vcpus[i].len)
			flush_line(&vm.vcpus[i]);
	}
	return final_status;
}

static uint64_t number(const char *opt, const char *s)
{
	char *end;
	uint64_t v;

	if (!s)
		die(STATUS_USAGE, "%s needs a value", opt);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s)
		die(STATUS_USAGE, "%s: bad number '%s'", opt, s);
	return v;
}

int main(int argc, char **argv)
{
	struct config_patch cp = { 0 };
	const char *path = NULL;
	unsigned timeout = 60;
	struct timespec t0, t1;
	int status;

	vm.nvcpus = 1;
	vm.mem_size = 64ull << 20;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--vcpus"))
			vm.nvcpus = number(a, val), i++;
		else if (!strcmp(a, "--mem"))
			vm.mem_size = number(a, val) << 20, i++;
		else if (!strcmp(a, "--timeout"))
			timeout = number(a, val), i++;
		else if (!strcmp(a, "--rounds"))
			cp.rounds = number(a, val), cp.rounds_set = true, i++;
		else if (!strcmp(a, "--pages"))
			cp.pages = number(a, val), cp.pages_set = true, i++;
		else if (!strcmp(a, "--seed"))
			cp.seed = number(a, val), cp.seed_set = true, i++;
		else if (!strcmp(a, "--console-prefix"))
			vm.prefix = true;
		else if (a[0] == '-' || path)
			die(STATUS_USAGE,
			    "usage: guest-kvm-run [--vcpus N] [--mem MIB] [--timeout S] "
			    "[--console-prefix] [--rounds N] [--pages N] [--seed N] GUEST.elf");
		else
			path = a;
	}
	if (!path)
		die(STATUS_USAGE, "no guest image given");
	if (vm.nvcpus < 1 || vm.nvcpus > MAX_VCPUS)
		die(STATUS_USAGE, "--vcpus: 1 to %d", MAX_VCPUS);
	if (vm.mem_size < (16ull << 20) || vm.mem_size % HUGE)
		die(STATUS_USAGE, "--mem: at least 16 MiB, a multiple of 2 MiB");

	create_vm();
	build_reserved();
	load_image(path, &cp);
	for (int i = 0; i < vm.nvcpus; i++)
		create_vcpu(&vm.vcpus[i], i);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	status = run_vm(timeout);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "guest-kvm-run: %d vCPU(s), %.2f s\n", vm.nvcpus,
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return status;
}
