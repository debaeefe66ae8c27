//! Handle tables: the `u64` handles C programs hold, mapped to library state.
//!
//! Owns: allocation, lookup and removal of handles. A handle is
//! `tag:20 | generation:24 | index:20` (high to low bits):
//! - `index` is the slot in the table;
//! - `generation` counts how often that slot was freed, so a finalized
//!   handle stays invalid when its slot is reused (for 2^24 reuses);
//! - `tag` identifies the table: a per-process random salt plus a distinct
//!   step per table, so a handle of another table in this process never
//!   matches, and a handle from another process almost surely does not
//!   (1 in 2^20). The tag is never 0, so no handle equals
//!   `SA_HANDLE_INVALID` (0).
//!
//! Entries are `Arc<T>`: a lookup clones the `Arc` and releases the table
//! lock at once, so a call never holds the lock while doing I/O, and
//! finalize (which removes the entry) can run while other threads still
//! use their clone.
//!
//! After `fork()`, a handle the child inherited belongs to its parent
//! process (each entry records the pid that made it): in the child every
//! lookup answers `SA_AIS_ERR_BAD_HANDLE`, and only
//! [`HandleTable::remove_inherited`] takes it out, so the child can drop
//! its copy without touching the parent's connection.
//!
//! Nested handles (a checkpoint handle opened through a library handle):
//! every entry may name a parent handle, of this table or another one.
//! [`HandleTable::insert_child`] validates the parent and closes the race
//! with a concurrent finalize of the parent; finalize of the parent calls
//! [`HandleTable::remove_children`] on the child table after removing the
//! parent itself.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::sys::current_pid;
use crate::error::{AisError, AisResult};

const INDEX_BITS: u32 = 20;
const GENERATION_BITS: u32 = 24;
const TAG_BITS: u32 = 20;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
const GENERATION_SHIFT: u32 = INDEX_BITS;
const TAG_SHIFT: u32 = INDEX_BITS + GENERATION_BITS;

/// Most live handles one table holds; more → `SA_AIS_ERR_NO_RESOURCES`.
pub const MAX_HANDLES: usize = 1 << INDEX_BITS;

/// A table of handles to `Arc<T>`; usable in a `static`:
///
/// ```ignore
/// static LIBRARIES: HandleTable<CkptLibrary> = HandleTable::new();
/// ```
pub struct HandleTable<T> {
    slots: Mutex<Slots<T>>,
    /// 0 until the first use picks this table's tag.
    tag: AtomicU32,
}

struct Slots<T> {
    entries: Vec<Slot<T>>,
    /// Indices of empty slots, reused last-freed first.
    free: Vec<u32>,
    live: usize,
}

struct Slot<T> {
    generation: u32,
    entry: Option<Entry<T>>,
}

struct Entry<T> {
    value: Arc<T>,
    /// The parent's handle; 0 for none.
    parent: u64,
    /// The process that made it.
    pid: u32,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> HandleTable<T> {
    pub const fn new() -> Self {
        HandleTable {
            slots: Mutex::new(Slots { entries: Vec::new(), free: Vec::new(), live: 0 }),
            tag: AtomicU32::new(0),
        }
    }

    /// Adds `value`; returns its new handle.
    pub fn insert(&self, value: T) -> AisResult<u64> {
        self.insert_entry(0, |_| value)
    }

    /// Adds the value `make` builds from its own handle (for state that
    /// needs to know it, e.g. to pass it to callbacks). `make` runs under
    /// the table lock: keep it cheap, no I/O.
    pub fn insert_with(&self, make: impl FnOnce(u64) -> T) -> AisResult<u64> {
        self.insert_entry(0, make)
    }

    /// Adds a child of `parent`, a live handle of `parents` (which may be
    /// this table): `SA_AIS_ERR_BAD_HANDLE` if it is not live. If the
    /// parent is removed while the child is being added, the child is
    /// removed again and the result is `SA_AIS_ERR_BAD_HANDLE`, so no child
    /// outlives a finalize that ran [`remove_children`](Self::remove_children)
    /// after removing the parent.
    pub fn insert_child<P>(
        &self,
        parents: &HandleTable<P>,
        parent: u64,
        make: impl FnOnce(u64) -> T,
    ) -> AisResult<u64> {
        parents.get(parent)?;
        let child = self.insert_entry(parent, make)?;
        if parents.get(parent).is_err() {
            let _ = self.remove(child);
            return Err(AisError::BAD_HANDLE);
        }
        Ok(child)
    }

    fn insert_entry(&self, parent: u64, make: impl FnOnce(u64) -> T) -> AisResult<u64> {
        let tag = self.tag();
        let mut slots = self.lock();
        let index = match slots.free.pop() {
            Some(index) => index,
            None if slots.entries.len() < MAX_HANDLES => {
                slots.entries.push(Slot { generation: 0, entry: None });
                (slots.entries.len() - 1) as u32
            }
            None => return Err(AisError::NO_RESOURCES),
        };
        let slot = &mut slots.entries[index as usize];
        let handle = encode(tag, slot.generation, index);
        slot.entry = Some(Entry { value: Arc::new(make(handle)), parent, pid: current_pid() });
        slots.live += 1;
        Ok(handle)
    }

    /// The value of a live handle; stale, foreign or garbage handles →
    /// `SA_AIS_ERR_BAD_HANDLE`.
    pub fn get(&self, handle: u64) -> AisResult<Arc<T>> {
        let slots = self.lock();
        let index = self.find_own(&slots, handle)?;
        match &slots.entries[index].entry {
            Some(entry) => Ok(Arc::clone(&entry.value)),
            None => Err(AisError::BAD_HANDLE),
        }
    }

    /// The parent handle a live handle was added with (0 for none).
    pub fn parent(&self, handle: u64) -> AisResult<u64> {
        let slots = self.lock();
        let index = self.find_own(&slots, handle)?;
        match &slots.entries[index].entry {
            Some(entry) => Ok(entry.parent),
            None => Err(AisError::BAD_HANDLE),
        }
    }

    /// Removes a live handle (finalize); it is invalid from now on. Other
    /// threads may still hold clones of the returned value.
    pub fn remove(&self, handle: u64) -> AisResult<Arc<T>> {
        let mut slots = self.lock();
        let index = self.find_own(&slots, handle)?;
        Self::take(&mut slots, index)
    }

    /// Removes a handle this process inherited across `fork()` (made by
    /// another process); `SA_AIS_ERR_BAD_HANDLE` for any other handle.
    pub fn remove_inherited(&self, handle: u64) -> AisResult<Arc<T>> {
        let mut slots = self.lock();
        let index = self.find(&slots, handle)?;
        if self.find_own(&slots, handle).is_ok() {
            return Err(AisError::BAD_HANDLE);
        }
        Self::take(&mut slots, index)
    }

    fn take(slots: &mut Slots<T>, index: usize) -> AisResult<Arc<T>> {
        let slot = &mut slots.entries[index];
        let entry = slot.entry.take().ok_or(AisError::BAD_HANDLE)?;
        slot.generation = (slot.generation + 1) & GENERATION_MASK as u32;
        slots.free.push(index as u32);
        slots.live -= 1;
        Ok(entry.value)
    }

    /// Removes every handle whose parent is `parent` (inherited ones
    /// too, with an inherited parent); returns them.
    pub fn remove_children(&self, parent: u64) -> Vec<(u64, Arc<T>)> {
        let doomed: Vec<u64> = self.children(parent).into_iter().map(|(h, _)| h).collect();
        doomed
            .into_iter()
            .filter_map(|h| self.remove(h).or_else(|_| self.remove_inherited(h)).ok().map(|v| (h, v)))
            .collect()
    }

    /// The live handles whose parent is `parent`, with their values.
    pub fn children(&self, parent: u64) -> Vec<(u64, Arc<T>)> {
        if parent == 0 {
            return Vec::new();
        }
        let tag = self.tag();
        let slots = self.lock();
        slots
            .entries
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| {
                let entry = slot.entry.as_ref()?;
                (entry.parent == parent).then(|| (encode(tag, slot.generation, index as u32), Arc::clone(&entry.value)))
            })
            .collect()
    }

    /// Every live handle with its value (e.g. to finalize all at exit).
    pub fn entries(&self) -> Vec<(u64, Arc<T>)> {
        let tag = self.tag();
        let slots = self.lock();
        slots
            .entries
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| {
                let entry = slot.entry.as_ref()?;
                Some((encode(tag, slot.generation, index as u32), Arc::clone(&entry.value)))
            })
            .collect()
    }

    /// Whether `handle` has this table's tag and names a slot of it, but is
    /// not live: a handle removed since (a garbage value that happens to
    /// carry the tag and a used index also counts). Lets a service tell
    /// "no longer exists" from "never was a handle" where the API does.
    pub fn was_removed(&self, handle: u64) -> bool {
        let slots = self.lock();
        let tag = (handle >> TAG_SHIFT) & TAG_MASK;
        let index = (handle & INDEX_MASK) as usize;
        tag == u64::from(self.tag()) && index < slots.entries.len() && self.find(&slots, handle).is_err()
    }

    /// Number of live handles.
    pub fn len(&self) -> usize {
        self.lock().live
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks tag, index and generation; returns the slot index.
    fn find(&self, slots: &Slots<T>, handle: u64) -> AisResult<usize> {
        let tag = (handle >> TAG_SHIFT) & TAG_MASK;
        let generation = ((handle >> GENERATION_SHIFT) & GENERATION_MASK) as u32;
        let index = (handle & INDEX_MASK) as usize;
        if tag != u64::from(self.tag()) {
            return Err(AisError::BAD_HANDLE);
        }
        match slots.entries.get(index) {
            Some(slot) if slot.generation == generation && slot.entry.is_some() => Ok(index),
            _ => Err(AisError::BAD_HANDLE),
        }
    }

    /// As [`find`](Self::find), and the handle was made by this process.
    fn find_own(&self, slots: &Slots<T>, handle: u64) -> AisResult<usize> {
        let index = self.find(slots, handle)?;
        match &slots.entries[index].entry {
            Some(entry) if entry.pid == current_pid() => Ok(index),
            _ => Err(AisError::BAD_HANDLE),
        }
    }

    /// A poisoned lock (a panic elsewhere while holding it) is still
    /// consistent: no operation above can panic half-way through an update
    /// except by running out of memory, so take it anyway.
    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tag(&self) -> u32 {
        let tag = self.tag.load(Ordering::Acquire);
        if tag != 0 {
            return tag;
        }
        let fresh = next_table_tag();
        match self.tag.compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => fresh,
            Err(chosen) => chosen,
        }
    }
}

fn encode(tag: u32, generation: u32, index: u32) -> u64 {
    (u64::from(tag) << TAG_SHIFT) | (u64::from(generation) << GENERATION_SHIFT) | u64::from(index)
}

/// A fresh table tag: `salt + n * odd` modulo 2^20 for the n-th table of
/// this process. Multiplying by an odd number is a bijection modulo 2^20,
/// so tables of one process never share a tag (until 2^20 tables); the
/// random salt makes tags differ between processes.
fn next_table_tag() -> u32 {
    static SALT: OnceLock<u64> = OnceLock::new();
    static TABLES: AtomicU64 = AtomicU64::new(0);
    // std seeds RandomState from the OS's random source.
    let salt = *SALT.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish()
    });
    loop {
        let n = TABLES.fetch_add(1, Ordering::Relaxed);
        let tag = (salt.wrapping_add(n.wrapping_mul(0x9E37_79B1)) & TAG_MASK) as u32;
        if tag != 0 {
            return tag;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn insert_get_remove() {
        let table = HandleTable::new();
        let a = table.insert("a").unwrap();
        let b = table.insert("b").unwrap();
        assert_ne!(a, 0);
        assert_ne!(a, b);
        assert_eq!(*table.get(a).unwrap(), "a");
        assert_eq!(*table.get(b).unwrap(), "b");
        assert_eq!(table.len(), 2);
        assert_eq!(*table.remove(a).unwrap(), "a");
        assert_eq!(table.get(a).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(table.remove(a).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(*table.get(b).unwrap(), "b");
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn stale_handle_stays_invalid_when_its_slot_is_reused() {
        let table = HandleTable::new();
        let old = table.insert(1).unwrap();
        table.remove(old).unwrap();
        let new = table.insert(2).unwrap();
        // Same slot, next generation.
        assert_eq!(old & INDEX_MASK, new & INDEX_MASK);
        assert_ne!(old, new);
        assert_eq!(table.get(old).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(table.remove(old).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(*table.get(new).unwrap(), 2);
        assert!(table.was_removed(old), "removed since");
        assert!(!table.was_removed(new), "live");
        let other: HandleTable<u8> = HandleTable::new();
        assert!(!other.was_removed(old), "another table's");
        assert!(!table.was_removed((old & !INDEX_MASK) | 77), "a slot never used");
    }

    #[test]
    fn foreign_and_garbage_handles_are_bad() {
        let ours = HandleTable::new();
        let theirs = HandleTable::new();
        let h = ours.insert(1u8).unwrap();
        let f = theirs.insert(1u8).unwrap();
        // Same slot and generation, different table: the tag differs.
        assert_eq!(h & !(TAG_MASK << TAG_SHIFT), f & !(TAG_MASK << TAG_SHIFT));
        assert_eq!(ours.get(f).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(theirs.get(h).err(), Some(AisError::BAD_HANDLE));
        for garbage in [0, 1, u64::MAX, h ^ 1, h + (1 << GENERATION_SHIFT), h | INDEX_MASK] {
            assert_eq!(ours.get(garbage).err(), Some(AisError::BAD_HANDLE), "{garbage:#x}");
        }
        // A cheap pseudo-random sweep: nothing but `h` is accepted.
        let (mut rng, _seed) = ais_testrng::seeded(0x1234_5678_9abc_def0);
        for _ in 0..ais_testrng::iters(100_000) {
            let x = rng.next_u64();
            if x != h {
                assert!(ours.get(x).is_err());
            }
        }
        assert_eq!(*ours.get(h).unwrap(), 1);
    }

    #[test]
    fn tags_of_many_tables_are_distinct_and_nonzero() {
        let tags: std::collections::HashSet<u32> = (0..1000).map(|_| HandleTable::<()>::new().tag()).collect();
        assert_eq!(tags.len(), 1000);
        assert!(!tags.contains(&0));
    }

    #[test]
    fn insert_with_sees_its_handle() {
        let table = HandleTable::new();
        let h = table.insert_with(|me| me).unwrap();
        assert_eq!(*table.get(h).unwrap(), h);
    }

    #[test]
    fn children_in_a_second_table() {
        let libraries = HandleTable::new();
        let checkpoints = HandleTable::new();
        let lib = libraries.insert("lib").unwrap();
        let other = libraries.insert("other").unwrap();
        let c1 = checkpoints.insert_child(&libraries, lib, |_| 1).unwrap();
        let c2 = checkpoints.insert_child(&libraries, lib, |_| 2).unwrap();
        let c3 = checkpoints.insert_child(&libraries, other, |_| 3).unwrap();
        assert_eq!(checkpoints.parent(c1), Ok(lib));
        assert_eq!(checkpoints.children(lib).len(), 2);
        // Finalize of `lib`: parent first, then its children.
        libraries.remove(lib).unwrap();
        let mut gone: Vec<i32> = checkpoints.remove_children(lib).into_iter().map(|(_, v)| *v).collect();
        gone.sort();
        assert_eq!(gone, [1, 2]);
        assert!(checkpoints.get(c1).is_err() && checkpoints.get(c2).is_err());
        assert_eq!(*checkpoints.get(c3).unwrap(), 3);
        // A child of a finalized or garbage parent is refused.
        assert_eq!(checkpoints.insert_child(&libraries, lib, |_| 4).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(checkpoints.insert_child(&libraries, 12345, |_| 4).err(), Some(AisError::BAD_HANDLE));
        assert_eq!(checkpoints.len(), 1);
    }

    #[test]
    fn children_in_the_same_table() {
        let table = HandleTable::new();
        let parent = table.insert(0).unwrap();
        let child = table.insert_child(&table, parent, |_| 1).unwrap();
        assert_eq!(table.parent(child), Ok(parent));
        assert_eq!(table.parent(parent), Ok(0));
        table.remove(parent).unwrap();
        assert_eq!(table.remove_children(parent).len(), 1);
        assert!(table.is_empty());
    }

    #[test]
    fn child_insert_racing_parent_finalize_leaves_no_orphan() {
        let parents = HandleTable::new();
        let children = HandleTable::new();
        for _ in 0..200 {
            let p = parents.insert(()).unwrap();
            std::thread::scope(|s| {
                s.spawn(|| {
                    for _ in 0..20 {
                        let _ = children.insert_child(&parents, p, |_| ());
                    }
                });
                s.spawn(|| {
                    parents.remove(p).unwrap();
                    children.remove_children(p);
                });
            });
            assert!(children.children(p).is_empty());
        }
        assert!(children.is_empty());
    }

    #[test]
    fn many_threads_insert_use_and_remove() {
        let table = Arc::new(HandleTable::new());
        let barrier = Arc::new(Barrier::new(8));
        let seen = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (table, barrier, seen) = (table.clone(), barrier.clone(), seen.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..2000 {
                        let h = table.insert((t, i)).unwrap();
                        assert_eq!(*table.get(h).unwrap(), (t, i));
                        if i % 3 != 0 {
                            assert_eq!(*table.remove(h).unwrap(), (t, i));
                            assert!(table.get(h).is_err());
                        } else {
                            seen.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(table.len(), seen.load(Ordering::Relaxed));
        assert_eq!(table.entries().len(), table.len());
    }

    #[test]
    fn value_outlives_its_handle_for_threads_using_it() {
        let table = HandleTable::new();
        let h = table.insert(String::from("state")).unwrap();
        let in_use = table.get(h).unwrap();
        table.remove(h).unwrap();
        assert_eq!(*in_use, "state");
        assert!(table.get(h).is_err());
    }
}
