/*
 * The allocator of luact's Lua states (their lua_Alloc), part of our build of Lua.
 *
 * It knows, at every allocation, how many bytes a state and each process in it hold, and
 * refuses an allocation that would cross a limit: "not enough memory" in the allocating
 * process only. It used to be TypeScript reached through the function table, a call from
 * WebAssembly into JavaScript per allocation and per free; here it runs inside the engine and
 * calls JavaScript only on rare events (see HeapEvent). src/vm/lua-heap.ts is its TypeScript
 * face: it reads and writes the fields of Heap and Engine through typed arrays over the
 * engine's memory, at the offsets checked below.
 *
 * Processes own slots: while a process runs, what is allocated is charged to its slot
 * (`owner`, stored by TypeScript around every lua_resume); a block freed later (by whichever
 * process runs the collector) is credited back to it. Every block carries a header in front
 * of it with its slot and that slot's generation when it was made, so a block freed after
 * its owner ended is not credited to the process that reuses the slot.
 *
 * What is held includes garbage not yet collected. Lua collects before it gives up on most
 * allocations, but not on those of luaL_Buffer (string.rep, table.concat, string.format, ...),
 * so the heap asks for a collection itself (HEAP_PRESSURE) once the state or a process has used
 * half the room it had left after the last one.
 *
 * Byte counts are doubles: exact far past what a 2 GiB memory holds, read from TypeScript as
 * plain numbers, and a limit may be as large as the host likes.
 *
 * A host on several worker threads has a state, a heap and an engine per thread, and its
 * max_memory holds for all of them: such a heap is `pooled`. Its `host_limit` is then a lease,
 * the bytes its thread took from a pool the threads share (TypeScript, in shared memory); an
 * allocation past the lease asks TypeScript to take more (HEAP_LEASE_SHORT, a chunk at a time)
 * and is refused only when the pool has no room left; TypeScript gives chunks back after a
 * collection. So the allocator still runs without JavaScript (a free costs what it did), and
 * crosses to it once per chunk, not per allocation.
 *
 * Compiled as C++ with the rest of the engine (build.sh): the exported names are extern "C".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What all Lua states of one engine (one WebAssembly instance) may hold together. */
typedef struct Engine {
  double used;
  double limit;
} Engine;

/* The limit an allocation would have crossed (NONE: no refusal is recorded). */
typedef enum HeapLimit { LIMIT_NONE, LIMIT_PROCESS, LIMIT_HOST, LIMIT_ENGINE } HeapLimit;

/* What the allocator tells TypeScript, through `notify`. */
typedef enum HeapEvent {
  /* The state or a process grew by half its headroom: collect at the next safe point. */
  HEAP_PRESSURE = 1,
  /*
   * A block of LARGE_ALLOCATION bytes or more is about to be allocated: the running process
   * has worked without Lua instructions (a built-in over a large value) and may have run too
   * long. A nonzero answer refuses the allocation, where refusals are allowed: the process is
   * being stopped, and this ends the built-in it is in.
   */
  HEAP_LARGE_ALLOCATION = 2,
  /* A pooled heap needs `lease_short` bytes past its lease: TypeScript raises host_limit if the
     pool has the room, else writes what the host holds into host_held. */
  HEAP_LEASE_SHORT = 3
} HeapEvent;

typedef struct Slot {
  double bytes;
  /* Bytes past which the slot asks for a collection, set at its first growth after one. */
  double collect_at;
  /* Bumped when the slot's process ends: older blocks are no longer charged to it. */
  uint32_t generation;
  /* The heap's epoch when collect_at was set. */
  uint32_t epoch;
} Slot;

typedef struct Heap Heap;

struct Heap {
  /* Stored by TypeScript around every lua_resume. */
  int32_t owner;     /* the slot allocations are charged to now */
  int32_t refusable; /* whether an allocation over a limit may be refused now */
  /* Read by TypeScript. */
  int32_t pressure;      /* a collection was asked for and has not happened yet */
  int32_t refusal_limit; /* the last refusal, until its slot allocates successfully */
  int32_t refusal_slot;
  uint32_t epoch; /* collections so far */
  double used;    /* bytes held by the state */
  double refusal_requested;
  double refusal_held;
  double refusal_limit_bytes;
  /* The allocator's own, but for a pooled heap's lease, which TypeScript moves. */
  double host_limit; /* max_memory, or a pooled heap's lease */
  double process_limit;
  double host_collect_at;
  Engine *engine;
  Slot *slots;
  int32_t slot_count;
  int32_t slot_capacity;
  int32_t *free_slots;
  int32_t free_count;
  int32_t (*notify)(Heap *heap, int32_t event);
  /* Whether host_limit is a lease from a pool other threads' heaps share (set by TypeScript). */
  int32_t pooled;
  /* The host's max_memory: the limit named in refusals, from which collections are paced. */
  double host_max;
  /* HEAP_LEASE_SHORT's question and, when the pool had no room, its answer. */
  double lease_short;
  double host_held;
};

/* The offsets src/vm/lua-heap.ts reads and writes. */
_Static_assert(offsetof(Heap, owner) == 0, "owner");
_Static_assert(offsetof(Heap, refusable) == 4, "refusable");
_Static_assert(offsetof(Heap, pressure) == 8, "pressure");
_Static_assert(offsetof(Heap, refusal_limit) == 12, "refusal_limit");
_Static_assert(offsetof(Heap, refusal_slot) == 16, "refusal_slot");
_Static_assert(offsetof(Heap, used) == 24, "used");
_Static_assert(offsetof(Heap, refusal_requested) == 32, "refusal_requested");
_Static_assert(offsetof(Heap, refusal_held) == 40, "refusal_held");
_Static_assert(offsetof(Heap, refusal_limit_bytes) == 48, "refusal_limit_bytes");
_Static_assert(offsetof(Heap, host_limit) == 56, "host_limit");
_Static_assert(offsetof(Heap, slots) == 84, "slots");
_Static_assert(offsetof(Heap, pooled) == 108, "pooled");
_Static_assert(offsetof(Heap, lease_short) == 120, "lease_short");
_Static_assert(offsetof(Heap, host_held) == 128, "host_held");
_Static_assert(sizeof(Slot) == 24 && offsetof(Slot, bytes) == 0, "Slot");
_Static_assert(sizeof(Engine) == 16 && offsetof(Engine, limit) == 8, "Engine");

/* In front of every block; 8 bytes keep Lua's blocks 8-byte aligned. */
typedef struct Header {
  uint32_t slot;
  uint32_t generation;
} Header;

_Static_assert(sizeof(Header) == 8, "Header");

/* Slot 0 owns what is allocated outside any process (the kernel, compiled entries). */
#define NO_OWNER 0

/* Blocks of at least this size are rare and take time to fill: they count as work done. */
#define LARGE_ALLOCATION (64 * 1024)

#define FIRST_SLOTS 64

static void press(Heap *heap) {
  heap->pressure = 1;
  heap->notify(heap, HEAP_PRESSURE);
}

/* Adds `delta` to what the slot, the state and the engine hold; growth may ask to collect. */
static void charge(Heap *heap, int32_t slot, double delta) {
  heap->used += delta;
  heap->engine->used += delta;
  Slot *held = &heap->slots[slot];
  double bytes = held->bytes + delta;
  held->bytes = bytes;
  if (delta <= 0) return;
  if (heap->refusal_limit != LIMIT_NONE && heap->refusal_slot == slot)
    heap->refusal_limit = LIMIT_NONE;
  if (heap->pressure) return;
  if (slot == NO_OWNER) {
    if (heap->used > heap->host_collect_at) press(heap);
    return;
  }
  if (held->epoch != heap->epoch) {
    held->epoch = heap->epoch;
    held->collect_at = bytes + (heap->process_limit - bytes) / 2;
  }
  if (heap->used > heap->host_collect_at || bytes > held->collect_at) press(heap);
}

static int refuse(Heap *heap, int32_t slot, HeapLimit limit, double requested, double held,
                  double limit_bytes) {
  heap->refusal_limit = limit;
  heap->refusal_slot = slot;
  heap->refusal_requested = requested;
  heap->refusal_held = held;
  heap->refusal_limit_bytes = limit_bytes;
  return 1;
}

/* Whether a pooled heap's lease could grow to hold `delta` more bytes (TypeScript asks the pool). */
static int leased(Heap *heap, double delta) {
  if (!heap->pooled) return 0;
  heap->lease_short = heap->used + delta - heap->host_limit;
  heap->notify(heap, HEAP_LEASE_SHORT);
  return heap->used + delta <= heap->host_limit;
}

/* Whether `delta` more bytes for `slot` would cross a limit (then the refusal is recorded). */
static int refuses(Heap *heap, int32_t slot, double delta) {
  double process_bytes = heap->slots[slot].bytes;
  if (slot != NO_OWNER && process_bytes + delta > heap->process_limit)
    return refuse(heap, slot, LIMIT_PROCESS, delta, process_bytes, heap->process_limit);
  if (heap->used + delta > heap->host_limit && !leased(heap, delta))
    return refuse(heap, slot, LIMIT_HOST, delta, heap->pooled ? heap->host_held : heap->used,
                  heap->host_max);
  Engine *engine = heap->engine;
  if (engine->used + delta > engine->limit)
    return refuse(heap, slot, LIMIT_ENGINE, delta, engine->used, engine->limit);
  return 0;
}

/* The slot a block is charged to: its owner's, unless the owner has ended since. */
static int32_t owner_of(const Heap *heap, const Header *block) {
  uint32_t slot = block->slot;
  return block->generation == heap->slots[slot].generation ? (int32_t)slot : NO_OWNER;
}

/*
 * lua_Alloc: free when `new_size` is 0, else allocate or resize (`old_size` is the old size;
 * for a new block Lua passes the object's type there). `ud` is the state's Heap.
 */
static void *allocate(void *ud, void *pointer, size_t old_size, size_t new_size) {
  Heap *heap = (Heap *)ud;
  if (new_size == 0) {
    if (pointer != NULL) {
      Header *block = (Header *)pointer - 1;
      charge(heap, owner_of(heap, block), -(double)old_size);
      free(block);
    }
    return NULL;
  }
  int fresh = pointer == NULL;
  Header *old = fresh ? NULL : (Header *)pointer - 1;
  double delta = fresh ? (double)new_size : (double)new_size - (double)old_size;
  int32_t slot = fresh ? heap->owner : owner_of(heap, old);
  if (delta > 0 && heap->refusable && refuses(heap, slot, delta)) return NULL;
  if (delta >= LARGE_ALLOCATION && heap->notify(heap, HEAP_LARGE_ALLOCATION) && heap->refusable)
    return NULL;
  Header *block = new_size <= SIZE_MAX - sizeof(Header)
                      ? (Header *)realloc(old, new_size + sizeof(Header))
                      : NULL;
  if (block == NULL) {
    /* The engine's memory could not grow any further. */
    Engine *engine = heap->engine;
    refuse(heap, slot, LIMIT_ENGINE, delta, engine->used, engine->limit);
    return NULL;
  }
  if (fresh) {
    block->slot = (uint32_t)slot;
    block->generation = heap->slots[slot].generation;
  }
  charge(heap, slot, delta);
  return block + 1;
}

/*
 * Block `pointer` (`size` bytes, as Lua allocated it) is charged from now on to the running
 * process (`to_running`) or to the state, not to the slot that allocated it: what a process
 * made for another (a message's encoding) is moved to whoever holds it. 1, with the refusal
 * recorded and nothing moved, when the running process may not hold it and refusals are
 * allowed; 0 otherwise, and when the state's allocator is not luact's.
 */
int luact_heap_recharge(void *allocator, void *ud, void *pointer, size_t size, int to_running) {
  if (allocator != (void *)&allocate) return 0;
  Heap *heap = (Heap *)ud;
  Header *block = (Header *)pointer - 1;
  int32_t from = owner_of(heap, block);
  int32_t to = to_running ? heap->owner : NO_OWNER;
  if (from == to) return 0;
  double delta = (double)size;
  double held = heap->slots[to].bytes;
  if (to != NO_OWNER && heap->refusable && held + delta > heap->process_limit)
    return refuse(heap, to, LIMIT_PROCESS, delta, held, heap->process_limit);
  /* What the state and the engine hold does not change: the slots' shares do. */
  heap->slots[from].bytes -= delta;
  heap->slots[to].bytes = held + delta;
  block->slot = (uint32_t)to;
  block->generation = heap->slots[to].generation;
  return 0;
}

/* The lua_Alloc to give lua_newstate, with the state's Heap as its `ud`. */
void *luact_heap_allocator(void) {
  return (void *)&allocate;
}

/*
 * A heap for one Lua state, charged to `engine` (an Engine TypeScript allocated); `notify`
 * is a function-table entry called with the heap and a HeapEvent. NULL without memory.
 */
Heap *luact_heap_new(Engine *engine, double host_limit, double process_limit,
                     int32_t (*notify)(Heap *, int32_t)) {
  Heap *heap = (Heap *)calloc(1, sizeof(Heap));
  Slot *slots = (Slot *)calloc(FIRST_SLOTS, sizeof(Slot));
  int32_t *free_slots = (int32_t *)malloc(FIRST_SLOTS * sizeof(int32_t));
  if (heap == NULL || slots == NULL || free_slots == NULL) {
    free(heap);
    free(slots);
    free(free_slots);
    return NULL;
  }
  heap->host_limit = host_limit;
  heap->host_max = host_limit;
  heap->process_limit = process_limit;
  heap->host_collect_at = host_limit / 2;
  heap->engine = engine;
  heap->slots = slots;
  heap->slot_count = 1; /* NO_OWNER's */
  heap->slot_capacity = FIRST_SLOTS;
  heap->free_slots = free_slots;
  heap->notify = notify;
  return heap;
}

/* The heap is not used any more (after lua_close): what it held leaves the engine's count. */
void luact_heap_free(Heap *heap) {
  heap->engine->used -= heap->used;
  free(heap->slots);
  free(heap->free_slots);
  free(heap);
}

/* A slot for a new process, its bytes at 0; -1 without memory for one more. */
int32_t luact_heap_open_slot(Heap *heap) {
  int32_t slot;
  if (heap->free_count > 0) {
    slot = heap->free_slots[--heap->free_count];
  } else {
    if (heap->slot_count == heap->slot_capacity) {
      int32_t capacity = heap->slot_capacity * 2;
      Slot *slots = (Slot *)realloc(heap->slots, (size_t)capacity * sizeof(Slot));
      if (slots == NULL) return -1;
      int32_t *free_slots = (int32_t *)realloc(heap->free_slots, (size_t)capacity * sizeof(int32_t));
      if (free_slots == NULL) {
        heap->slots = slots;
        return -1;
      }
      for (int32_t i = heap->slot_capacity; i < capacity; i++) {
        slots[i].bytes = 0;
        slots[i].generation = 0;
      }
      heap->slots = slots;
      heap->free_slots = free_slots;
      heap->slot_capacity = capacity;
    }
    slot = heap->slot_count++;
  }
  Slot *opened = &heap->slots[slot];
  opened->bytes = 0;
  opened->epoch = heap->epoch;
  opened->collect_at = heap->process_limit / 2;
  return slot;
}

/*
 * The process of `slot` ended: what it still holds (garbage not yet collected, strings others
 * use) is the host's from now on, and the slot can serve another process.
 */
void luact_heap_close_slot(Heap *heap, int32_t slot) {
  Slot *closed = &heap->slots[slot];
  heap->slots[NO_OWNER].bytes += closed->bytes;
  closed->bytes = 0;
  closed->generation++;
  if (heap->refusal_limit != LIMIT_NONE && heap->refusal_slot == slot)
    heap->refusal_limit = LIMIT_NONE;
  /* free_slots has room for every slot but NO_OWNER's. */
  heap->free_slots[heap->free_count++] = slot;
}

/*
 * Garbage was just collected: each threshold moves to halfway between what is held now and
 * its limit, so the next collection comes after half the room left is used again (a slot's at
 * its first growth after this).
 */
void luact_heap_collected(Heap *heap) {
  heap->pressure = 0;
  heap->epoch++;
  heap->host_collect_at = heap->used + (heap->host_max - heap->used) / 2;
}

/*
 * From here until luact_heap_restore_charge, allocations are the state's and never refused:
 * the growth of a table every process shares (ltable.c, luaH_resize). `saved` keeps the owner
 * and whether it may be refused. 0, and nothing changed, when the state's allocator is not
 * luact's (a state made by luaL_newstate).
 */
int luact_heap_charge_state(void *allocator, void *ud, int32_t *saved) {
  if (allocator != (void *)&allocate) return 0;
  Heap *heap = (Heap *)ud;
  saved[0] = heap->owner;
  saved[1] = heap->refusable;
  heap->owner = NO_OWNER;
  heap->refusable = 0;
  return 1;
}

void luact_heap_restore_charge(void *ud, const int32_t *saved) {
  Heap *heap = (Heap *)ud;
  heap->owner = saved[0];
  heap->refusable = saved[1];
}

#ifdef __cplusplus
}
#endif
