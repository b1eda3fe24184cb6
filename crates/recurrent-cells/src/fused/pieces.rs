//! Work dealt out to threads: the rows of a matrix cut into disjoint column pieces for the
//! threads that fill them in place (a team's members: their units' columns of each gate
//! block; a bidirectional layer's two directions: their halves of each output row), and any
//! per-thread share behind a lock that its thread takes it from (a direction's forward
//! workspace, which its backward consumes).

use std::sync::{Mutex, PoisonError};

/// Cuts every row into consecutive pieces, `widths` over and over (`rounds` times, which must
/// use up the row), and deals them out: the `i`-th width of a round goes to owner `i`. Owner
/// `i` gets its pieces row by row, round by round: `rounds` pieces a row.
///
/// # Panics
///
/// When a row is shorter than `rounds` rounds of `widths`.
pub(crate) fn deal<'a>(
    rows: impl IntoIterator<Item = &'a mut [f32]>,
    widths: &[usize],
    rounds: usize,
) -> Vec<Vec<&'a mut [f32]>> {
    let rows = rows.into_iter();
    let mut owners: Vec<Vec<&'a mut [f32]>> = widths
        .iter()
        .map(|_| Vec::with_capacity(rows.size_hint().0 * rounds))
        .collect();
    for row in rows {
        let mut rest = row;
        for _ in 0..rounds {
            for (owner, &width) in owners.iter_mut().zip(widths) {
                let (piece, tail) = rest.split_at_mut(width);
                owner.push(piece);
                rest = tail;
            }
        }
    }
    owners
}

/// Each owner's share behind its own lock, for threads that each [take](take) theirs.
pub(crate) fn handout<T>(shares: Vec<T>) -> Vec<Mutex<T>> {
    shares.into_iter().map(Mutex::new).collect()
}

/// Owner `i`'s share, out of a [`handout`] (what is left in its place is the default).
pub(crate) fn take<T: Default>(handout: &[Mutex<T>], i: usize) -> T {
    std::mem::take(&mut *handout[i].lock().unwrap_or_else(PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_go_round_the_owners_row_by_row() {
        // Two rows of 2 rounds of widths [1, 2]: 6 values a row.
        let mut m: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let owners = deal(m.chunks_exact_mut(6), &[1, 2], 2);
        let values = |o: usize| -> Vec<Vec<f32>> { owners[o].iter().map(|p| p.to_vec()).collect() };
        assert_eq!(
            values(0),
            vec![vec![0.0], vec![3.0], vec![6.0], vec![9.0]],
            "owner 0: width 1 of each round"
        );
        assert_eq!(
            values(1),
            vec![
                vec![1.0, 2.0],
                vec![4.0, 5.0],
                vec![7.0, 8.0],
                vec![10.0, 11.0]
            ],
            "owner 1: width 2 of each round"
        );
    }

    #[test]
    fn each_share_is_taken_once() {
        let shares = handout(vec![vec![1], vec![2, 3]]);
        assert_eq!(take(&shares, 1), vec![2, 3]);
        assert_eq!(take(&shares, 1), Vec::<i32>::new(), "taken already");
        assert_eq!(take(&shares, 0), vec![1]);
    }

    #[test]
    #[should_panic]
    fn a_short_row_is_refused() {
        let mut m = [0.0f32; 5];
        let _ = deal(m.chunks_exact_mut(5), &[3], 2);
    }
}
