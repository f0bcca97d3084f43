/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of mdr, defined once for the BPF object. All are pinned by name
 * under the pin directory given to libbpf at open time (pin_root_path), so
 * mdrd, mdr-responder, mdrctl, bpftool and the tests share them, and a
 * reload reuses them (LIBBPF_PIN_BY_NAME). Keys and values: maps/mdr_abi.h.
 * Maps that only user space uses (content chunks, records) live here too, so
 * one load creates and pins the whole ABI with BTF for bpftool.
 */
#ifndef MDR_MAPS_H
#define MDR_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mdr_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdr_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_config SEC(".maps");

/* The ABI version record (user space only; see mdr_abi_record). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdr_abi_record);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_abi SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_PORTS);
	__type(key, __u32); /* ifindex */
	__type(value, struct mdr_port_binding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_MACS);
	__type(key, struct mdr_mac_key);
	__type(value, struct mdr_mac_binding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_INSTANCES);
	__type(key, __u32); /* instance id */
	__type(value, struct mdr_limits);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_INSTANCES);
	__type(key, __u32); /* instance id */
	__type(value, struct mdr_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_rl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MDR_MAX_XSKS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_XSKS);
	__type(key, struct mdr_xsk_key);
	__type(value, __u32); /* slot in mdr_xsks */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_xsk_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdr_xdp_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MDR_MAX_INSTANCES);
	__type(key, __u32); /* instance id */
	__type(value, struct mdr_xdp_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_istats SEC(".maps");

/* The SYN cookie key and SYN-ACK parameters (written by the responder). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdr_syncookie);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_syncookie SEC(".maps");

/* ---- user-space-only maps (defined here to be created and pinned once) ---- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_INSTANCES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mdr_instance);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_inst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_INSTANCES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mdr_uuid_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_uuids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_IFACES);
	__type(key, __u32); /* ifindex */
	__type(value, struct mdr_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_INSTANCES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mdr_password);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_passwords SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mdr_token_keys);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_tokkey SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MDR_MAX_INSTANCES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mdr_resp_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mdr_rstats SEC(".maps");

#define MDR_CHUNK_MAP(n, size)                                   \
	struct mdr_chunk##n##_val {                                  \
		__u8 data[size];                                         \
	};                                                           \
	struct {                                                     \
		__uint(type, BPF_MAP_TYPE_HASH);                         \
		__uint(max_entries, MDR_MAX_CHUNKS);                     \
		__uint(map_flags, BPF_F_NO_PREALLOC);                    \
		__type(key, struct mdr_chunk_key);                       \
		__type(value, struct mdr_chunk##n##_val);                \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                     \
	} mdr_chunk##n SEC(".maps")

MDR_CHUNK_MAP(0, MDR_CHUNK0_SIZE);
MDR_CHUNK_MAP(1, MDR_CHUNK1_SIZE);
MDR_CHUNK_MAP(2, MDR_CHUNK2_SIZE);
MDR_CHUNK_MAP(3, MDR_CHUNK3_SIZE);
MDR_CHUNK_MAP(4, MDR_CHUNK4_SIZE);
MDR_CHUNK_MAP(5, MDR_CHUNK5_SIZE);

#endif /* MDR_MAPS_H */
