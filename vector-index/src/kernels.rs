//! Distance kernels: AVX-512 or AVX2+FMA when the CPU has them (detected at run time),
//! otherwise a portable loop the compiler vectorises.
//!
//! This is the crate's only module with `unsafe`: calling `#[target_feature]` functions and
//! loading unaligned lanes with `std::arch` intrinsics needs it. The SIMD functions are only
//! reachable through [`Kernels::detect`], which checks the CPU first, so the safe wrappers
//! below never run an instruction the CPU lacks.
#![allow(unsafe_code)]

/// A distance kernel over two equally long slices.
pub(crate) type KernelFn = fn(&[f32], &[f32]) -> f32;

/// The kernels chosen for this CPU.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    /// Squared Euclidean distance.
    pub l2sq: KernelFn,
    /// Inner product.
    pub dot: KernelFn,
}

impl Kernels {
    /// The fastest kernels this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Kernels {
                    l2sq: x86::l2sq_512,
                    dot: x86::dot_512,
                };
            }
            if let Some(k) = Kernels::avx2() {
                return k;
            }
        }
        Kernels::portable()
    }

    /// The AVX2+FMA kernels, if the CPU has them.
    #[cfg(target_arch = "x86_64")]
    fn avx2() -> Option<Self> {
        (std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
            .then_some(Kernels {
                l2sq: x86::l2sq,
                dot: x86::dot,
            })
    }

    /// The portable kernels (also the reference the SIMD ones are tested against).
    pub fn portable() -> Self {
        Kernels {
            l2sq: portable::l2sq,
            dot: portable::dot,
        }
    }
}

/// Hint the CPU to start loading the start of `v` into cache (a no-op off x86_64).
#[inline(always)]
pub(crate) fn prefetch(v: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // Prefetch the first two cache lines; the hardware prefetcher follows the rest.
        let p = v.as_ptr() as *const i8;
        // SAFETY: prefetch never faults, even on an invalid address; SSE is part of x86_64.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            if v.len() > 16 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Hint the CPU to load the first cache line of `v` (a no-op off x86_64).
#[inline(always)]
pub(crate) fn prefetch_u32(v: &[u32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: prefetch never faults, even on an invalid address; SSE is part of x86_64.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(v.as_ptr() as *const i8) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

mod portable {
    /// Several independent accumulators let the compiler keep many lanes busy.
    pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0f32; 16];
        let ca = a.chunks_exact(16);
        let cb = b.chunks_exact(16);
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for i in 0..16 {
                let d = x[i] - y[i];
                acc[i] += d * d;
            }
        }
        let mut sum: f32 = acc.iter().sum();
        for (x, y) in ra.iter().zip(rb) {
            sum += (x - y) * (x - y);
        }
        sum
    }

    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0f32; 16];
        let ca = a.chunks_exact(16);
        let cb = b.chunks_exact(16);
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for i in 0..16 {
                acc[i] += x[i] * y[i];
            }
        }
        let mut sum: f32 = acc.iter().sum();
        for (x, y) in ra.iter().zip(rb) {
            sum += x * y;
        }
        sum
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only selected by `Kernels::detect` after checking avx2 and fma.
        unsafe { l2sq_avx2(a, b) }
    }

    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only selected by `Kernels::detect` after checking avx2 and fma.
        unsafe { dot_avx2(a, b) }
    }

    pub fn l2sq_512(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only selected by `Kernels::detect` after checking avx512f.
        unsafe { l2sq_avx512(a, b) }
    }

    pub fn dot_512(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: only selected by `Kernels::detect` after checking avx512f.
        unsafe { dot_avx512(a, b) }
    }

    /// Lanes `0..r` set, for the last partial register (`r < 16`).
    fn tail_mask(r: usize) -> __mmask16 {
        ((1u32 << r) - 1) as __mmask16
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn l2sq_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: full loads read 16 floats at offsets below `n`; the tail load is masked
        // to the lanes below `n` (masked-off lanes are neither read nor able to fault).
        unsafe {
            while i + 64 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    let d = _mm512_sub_ps(
                        _mm512_loadu_ps(pa.add(i + 16 * j)),
                        _mm512_loadu_ps(pb.add(i + 16 * j)),
                    );
                    *slot = _mm512_fmadd_ps(d, d, *slot);
                }
                i += 64;
            }
            while i + 16 <= n {
                let d = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
                acc[0] = _mm512_fmadd_ps(d, d, acc[0]);
                i += 16;
            }
            if i < n {
                let m = tail_mask(n - i);
                let d = _mm512_sub_ps(
                    _mm512_maskz_loadu_ps(m, pa.add(i)),
                    _mm512_maskz_loadu_ps(m, pb.add(i)),
                );
                acc[1] = _mm512_fmadd_ps(d, d, acc[1]);
            }
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(s)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: as in `l2sq_avx512`.
        unsafe {
            while i + 64 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    *slot = _mm512_fmadd_ps(
                        _mm512_loadu_ps(pa.add(i + 16 * j)),
                        _mm512_loadu_ps(pb.add(i + 16 * j)),
                        *slot,
                    );
                }
                i += 64;
            }
            while i + 16 <= n {
                acc[0] = _mm512_fmadd_ps(
                    _mm512_loadu_ps(pa.add(i)),
                    _mm512_loadu_ps(pb.add(i)),
                    acc[0],
                );
                i += 16;
            }
            if i < n {
                let m = tail_mask(n - i);
                acc[1] = _mm512_fmadd_ps(
                    _mm512_maskz_loadu_ps(m, pa.add(i)),
                    _mm512_maskz_loadu_ps(m, pb.add(i)),
                    acc[1],
                );
            }
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(s)
    }

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn l2sq_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offsets below `n`, inside both slices.
        unsafe {
            while i + 32 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    let d = _mm256_sub_ps(
                        _mm256_loadu_ps(pa.add(i + 8 * j)),
                        _mm256_loadu_ps(pb.add(i + 8 * j)),
                    );
                    *slot = _mm256_fmadd_ps(d, d, *slot);
                }
                i += 32;
            }
            while i + 8 <= n {
                let d = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
                i += 8;
            }
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut sum = hsum(s);
        for k in i..n {
            let d = a[k] - b[k];
            sum += d * d;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offsets below `n`, inside both slices.
        unsafe {
            while i + 32 <= n {
                for (j, slot) in acc.iter_mut().enumerate() {
                    *slot = _mm256_fmadd_ps(
                        _mm256_loadu_ps(pa.add(i + 8 * j)),
                        _mm256_loadu_ps(pb.add(i + 8 * j)),
                        *slot,
                    );
                }
                i += 32;
            }
            while i + 8 <= n {
                acc[0] = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i)),
                    _mm256_loadu_ps(pb.add(i)),
                    acc[0],
                );
                i += 8;
            }
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut sum = hsum(s);
        for k in i..n {
            sum += a[k] * b[k];
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_kernels_agree_with_portable_ones_for_every_length() {
        let fast = Kernels::detect();
        let slow = Kernels::portable();
        // Also the AVX2 kernels on a CPU that would pick AVX-512.
        #[cfg(target_arch = "x86_64")]
        let avx2 = Kernels::avx2();
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = None;
        for n in [0usize, 1, 7, 8, 15, 16, 31, 33, 100, 784] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive_l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            let naive_dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            for k in [Some(fast), Some(slow), avx2].into_iter().flatten() {
                assert!(
                    ((k.l2sq)(&a, &b) - naive_l2).abs() <= 1e-3 * (1.0 + naive_l2.abs()),
                    "l2 n={n}"
                );
                assert!(
                    ((k.dot)(&a, &b) - naive_dot).abs() <= 1e-3 * (1.0 + naive_dot.abs()),
                    "dot n={n}"
                );
            }
        }
    }
}
