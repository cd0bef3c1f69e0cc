//! `Slots`: values by key, kept in a slab whose memory is reused, with a hash index of
//! slot numbers beside it.
//!
//! The write-behind queue keeps one entry per pending key here. Both the slab and the
//! index can be reserved and written once up front ([`Slots::touched`]): a burst of puts
//! then allocates nothing and touches no fresh page (on the machines we measured, the
//! first touch of a page costs 2-10 µs, more than the rest of a put), and drained
//! entries' room is reused by later ones. The index holds only slot numbers (8 bytes a
//! bucket rather than a key and a pointer), hashing and comparing through the slab.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;
use slab::Slab;
use store_core::Key;

#[derive(Debug)]
pub(crate) struct Slots<T> {
    slab: Slab<(Key, T)>,
    index: HashTable<usize>,
    /// foldhash, randomly seeded: every write-behind put hashes its key here, where
    /// SipHash cost more than the rest of the lookup.
    hasher: foldhash::fast::RandomState,
}

/// A key's place in [`Slots`], found or not (see [`Slots::entry`]).
pub(crate) enum SlotEntry<'a, T> {
    /// The key has this value.
    Occupied(&'a mut T),
    /// The key has none; [`VacantSlot::insert`] gives it one.
    Vacant(VacantSlot<'a, T>),
}

/// Room for a key that has no value yet.
pub(crate) struct VacantSlot<'a, T> {
    key: &'a Key,
    slab: &'a mut Slab<(Key, T)>,
    index: hashbrown::hash_table::VacantEntry<'a, usize>,
}

impl<T> VacantSlot<'_, T> {
    /// Store `value` for the key; returns its slot.
    pub fn insert(self, value: T) -> usize {
        let slot = self.slab.insert((self.key.clone(), value));
        self.index.insert(slot);
        slot
    }
}

impl<T> Slots<T> {
    /// Room for `n` values, written once with `filler` so its pages are in memory (and
    /// emptied again) before the first real value needs them.
    pub fn touched(n: usize, filler: impl Fn() -> T) -> Self {
        let mut slab = Slab::with_capacity(n);
        let mut index = HashTable::with_capacity(n);
        if let Ok(key) = Key::new("touch") {
            for i in 0..n {
                slab.insert((key.clone(), filler()));
                // Spread over the whole table, so every page of it is written.
                index.insert_unique(spread(i), i, |&i| spread(i));
            }
        }
        slab.clear();
        index.clear();
        Slots {
            slab,
            index,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn hash(&self, key: &Key) -> u64 {
        self.hasher.hash_one(key.as_str())
    }

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// `key`'s slot, found or vacant: one hash and one probe either way.
    pub fn entry<'a>(&'a mut self, key: &'a Key) -> SlotEntry<'a, T> {
        let hash = self.hash(key);
        let (slab, hasher) = (&mut self.slab, &self.hasher);
        let found = self.index.entry(
            hash,
            |&slot| slab.get(slot).is_some_and(|(k, _)| k == key),
            |&slot| {
                slab.get(slot)
                    .map_or(0, |(k, _)| hasher.hash_one(k.as_str()))
            },
        );
        match found {
            // The index only names occupied slots; were it ever wrong, forget the slot.
            TableEntry::Occupied(found) if !slab.contains(*found.get()) => {
                SlotEntry::Vacant(VacantSlot {
                    key,
                    slab,
                    index: found.remove().1,
                })
            }
            TableEntry::Occupied(found) => SlotEntry::Occupied(&mut slab[*found.get()].1),
            TableEntry::Vacant(index) => SlotEntry::Vacant(VacantSlot { key, slab, index }),
        }
    }

    /// `key`'s slot and value, if it has one.
    pub fn find_mut(&mut self, key: &Key) -> Option<(usize, &mut T)> {
        let hash = self.hash(key);
        let slab = &self.slab;
        let slot = *self
            .index
            .find(hash, |&slot| slab.get(slot).is_some_and(|(k, _)| k == key))?;
        Some((slot, &mut self.slab.get_mut(slot)?.1))
    }

    /// The key and value in `slot`, if it holds one.
    pub fn get_mut(&mut self, slot: usize) -> Option<(&Key, &mut T)> {
        self.slab.get_mut(slot).map(|(key, value)| (&*key, value))
    }

    /// Forget the value in `slot`; its room is reused by a later insert.
    pub fn remove(&mut self, slot: usize) -> Option<(Key, T)> {
        let key = &self.slab.get(slot)?.0;
        let hash = self.hash(key);
        if let Ok(found) = self.index.find_entry(hash, |&s| s == slot) {
            found.remove();
        }
        self.slab.try_remove(slot)
    }

    /// Every key and value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &T)> {
        self.slab.iter().map(|(_, (key, value))| (key, value))
    }
}

/// `i` spread over 64 bits (Fibonacci hashing), for filling a table evenly.
fn spread(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key::new(s).unwrap()
    }

    #[test]
    fn finds_reuses_and_forgets_slots() {
        let mut slots: Slots<u32> = Slots::touched(4, || 0);
        assert_eq!(slots.len(), 0, "touching leaves nothing behind");
        let a = match slots.entry(&key("a")) {
            SlotEntry::Vacant(room) => room.insert(1),
            SlotEntry::Occupied(_) => panic!("a is new"),
        };
        match slots.entry(&key("a")) {
            SlotEntry::Occupied(value) => *value = 2,
            SlotEntry::Vacant(_) => panic!("a is there"),
        }
        assert_eq!(
            slots.find_mut(&key("a")).map(|(s, v)| (s, *v)),
            Some((a, 2))
        );
        assert_eq!(slots.remove(a), Some((key("a"), 2)));
        assert!(slots.find_mut(&key("a")).is_none());
        let b = match slots.entry(&key("b")) {
            SlotEntry::Vacant(room) => room.insert(3),
            SlotEntry::Occupied(_) => panic!("b is new"),
        };
        assert_eq!(b, a, "a drained slot is reused");
        assert_eq!(
            slots.get_mut(b).map(|(k, v)| (k.clone(), *v)),
            Some((key("b"), 3))
        );
    }

    #[test]
    fn grows_past_what_was_touched() {
        let mut slots: Slots<usize> = Slots::touched(2, || 0);
        let keys: Vec<Key> = (0..1000).map(|i| key(&format!("k{i}"))).collect();
        for (i, k) in keys.iter().enumerate() {
            if let SlotEntry::Vacant(room) = slots.entry(k) {
                room.insert(i);
            }
        }
        assert_eq!(slots.len(), 1000);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(slots.find_mut(k).map(|(_, v)| *v), Some(i), "{k}");
        }
        let mut seen: Vec<usize> = slots.iter().map(|(_, v)| *v).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }
}
