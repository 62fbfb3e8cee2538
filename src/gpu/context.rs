//! Instance, adapter and device, with errors turned into [`EngineError::Gpu`] instead of panics:
//! an uncaptured-error handler and a device-lost callback record what happened (own device only),
//! error scopes catch out-of-memory and validation errors around buffer creation and each submit,
//! and every wait has a time limit.

use crate::engine::EngineError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest one submission may take before the run fails (lavapipe runs 10⁹ Philox calls in ~5 s).
pub const WAIT: Duration = Duration::from_secs(300);

/// Which adapters may be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterPolicy {
    /// Any adapter, a software one (lavapipe, llvmpipe) included; hardware preferred.
    Any,
    /// Hardware GPUs only (device type not `Cpu`) unless `WGPU_ADAPTER_NAME` names one.
    Hardware,
}

/// A device and queue with error bookkeeping and a tally of the buffers made on it.
pub struct GpuContext {
    /// The device the passes make their pipelines and buffers on.
    pub device: wgpu::Device,
    /// Its queue: every write and submission goes through it.
    pub queue: wgpu::Queue,
    /// The adapter's name, API and type (software or hardware), for messages and choices.
    pub info: wgpu::AdapterInfo,
    errors: Arc<Mutex<Vec<String>>>,
    lost: Arc<Mutex<Option<String>>>,
    allocated: AtomicU64,
    peak: AtomicU64,
    /// Bytes written to the device through [`GpuContext::upload`], and mapped back by
    /// [`GpuContext::read_with`]: what a run moves over the bus, for `celltwin bench`.
    uploaded: AtomicU64,
    read_back: AtomicU64,
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Gpu(format!("{what}: {e}"))
}

/// Rank adapters: hardware before software, then native APIs before GL.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let hw = u8::from(info.device_type == wgpu::DeviceType::Cpu);
    let gl = u8::from(info.backend == wgpu::Backend::Gl);
    (hw, gl)
}

/// A short description of an adapter: name, API, type.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// The best compute-capable adapter `policy` allows (hardware first, native APIs before GL), or
/// an error naming the backends tried and the adapters seen.
fn pick_adapter(policy: AdapterPolicy) -> Result<wgpu::Adapter, EngineError> {
    let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    let backends = desc.backends;
    let instance = wgpu::Instance::new(desc);
    let adapters = pollster::block_on(instance.enumerate_adapters(backends));
    let seen: Vec<String> = adapters.iter().map(|a| describe(&a.get_info())).collect();
    let wanted = std::env::var("WGPU_ADAPTER_NAME")
        .ok()
        .map(|s| s.to_lowercase());
    let mut usable: Vec<wgpu::Adapter> = adapters
        .into_iter()
        .filter(|a| {
            let info = a.get_info();
            let caps = a.get_downlevel_capabilities();
            let named = wanted
                .as_ref()
                .is_none_or(|w| info.name.to_lowercase().contains(w));
            let allowed = policy == AdapterPolicy::Any
                || wanted.is_some()
                || info.device_type != wgpu::DeviceType::Cpu;
            named && allowed && caps.flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        })
        .collect();
    usable.sort_by_key(|a| rank(&a.get_info()));
    usable
        .into_iter()
        .next()
        .ok_or_else(|| no_adapter(policy, backends, wanted, &seen))
}

/// The error for no usable adapter: what was tried, what was seen, what to install.
fn no_adapter(
    policy: AdapterPolicy,
    backends: wgpu::Backends,
    wanted: Option<String>,
    seen: &[String],
) -> EngineError {
    let tried = (backends & wgpu::Instance::enabled_backend_features()) - wgpu::Backends::NOOP;
    let name = wanted.map_or(String::new(), |w| {
        format!(" named like \"{w}\" (WGPU_ADAPTER_NAME)")
    });
    let seen = if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join("; ")
    };
    EngineError::NoGpu(match policy {
        AdapterPolicy::Any => format!(
            "no compute-capable adapter{name}; tried backends {tried:?}, adapters seen: {seen}. \
             For a software GPU install Mesa's lavapipe (apt-get install mesa-vulkan-drivers \
             libvulkan1), or run with --backend cpu"
        ),
        AdapterPolicy::Hardware => {
            format!("no hardware GPU{name} (tried backends {tried:?}; adapters seen: {seen})")
        }
    })
}

impl GpuContext {
    /// Find an adapter (`WGPU_BACKEND` and `WGPU_ADAPTER_NAME` honoured) and open a device.
    pub fn new(policy: AdapterPolicy) -> Result<GpuContext, EngineError> {
        let adapter = pick_adapter(policy)?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("celltwin"),
            required_features: wgpu::Features::empty(),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| {
            gpu_err(
                &format!("could not open a device on {}", describe(&info)),
                e,
            )
        })?;
        let ctx = GpuContext::wrap(device, queue, info);
        ctx.install_handlers();
        Ok(ctx)
    }

    /// On our own device only: record uncaptured errors and the device's loss, for
    /// [`GpuContext::check`] to turn into errors instead of panics.
    fn install_handlers(&self) {
        let errors = self.errors.clone();
        self.device
            .on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                if let Ok(mut v) = errors.lock() {
                    v.push(e.to_string());
                }
            }));
        let lost = self.lost.clone();
        self.device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut l) = lost.lock() {
                *l = Some(if msg.is_empty() {
                    format!("{reason:?}")
                } else {
                    format!("{reason:?}: {msg}")
                });
            }
        });
    }

    /// Use a device someone else opened (eframe's). No handlers are installed on it (they would
    /// replace the owner's); error scopes around our own work still catch our errors.
    pub fn wrap(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> GpuContext {
        GpuContext {
            device,
            queue,
            info,
            errors: Arc::new(Mutex::new(Vec::new())),
            lost: Arc::new(Mutex::new(None)),
            allocated: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            read_back: AtomicU64::new(0),
        }
    }

    /// The adapter in words (name, API, type), for reports and error messages.
    pub fn describe(&self) -> String {
        describe(&self.info)
    }

    /// The first recorded error, if any, as an engine error.
    pub fn check(&self) -> Result<(), EngineError> {
        if let Some(l) = self.lost.lock().ok().and_then(|l| l.clone()) {
            return Err(EngineError::Gpu(format!(
                "device lost on {}: {l}",
                self.describe()
            )));
        }
        if let Ok(mut v) = self.errors.lock()
            && !v.is_empty()
        {
            let msg = v.join("; ");
            v.clear();
            return Err(EngineError::Gpu(format!("on {}: {msg}", self.describe())));
        }
        Ok(())
    }

    /// Run `f` inside out-of-memory and validation error scopes; any captured error is returned.
    pub fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T, EngineError> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o {
            return Err(EngineError::Gpu(format!(
                "out of device memory while {what} on {}: {e}; try a smaller --chunk",
                self.describe()
            )));
        }
        if let Some(e) = v {
            return Err(EngineError::Gpu(format!(
                "{what} on {}: {e}",
                self.describe()
            )));
        }
        self.check()?;
        Ok(out)
    }

    /// A buffer, counted in the device-memory tally.
    pub fn buffer(
        &self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer, EngineError> {
        let size = size.max(16).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let max = self.device.limits().max_buffer_size;
        if size > max {
            return Err(EngineError::Gpu(format!(
                "buffer {label} needs {size} B, the device allows {max} B; use a smaller chunk"
            )));
        }
        let buf = self.scoped(&format!("allocating {label} ({size} B)"), || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        })?;
        let now = self.allocated.fetch_add(size, Ordering::Relaxed) + size;
        self.peak.fetch_max(now, Ordering::Relaxed);
        Ok(buf)
    }

    /// The buffer in `slot`, made again (the old one given back) when it holds fewer than
    /// `bytes`: it grows to the largest asked for and is reused after that.
    pub fn buffer_in<'s>(
        &self,
        slot: &'s mut Option<wgpu::Buffer>,
        label: &str,
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<&'s wgpu::Buffer, EngineError> {
        if slot.as_ref().is_none_or(|b| b.size() < bytes) {
            if let Some(b) = slot.take() {
                self.release(b);
            }
            *slot = Some(self.buffer(label, bytes, usage)?);
        }
        Ok(slot.as_ref().expect("made above"))
    }

    /// [`GpuContext::buffer_in`] for a read-back.
    pub fn readback_in<'s>(
        &self,
        slot: &'s mut Option<wgpu::Buffer>,
        label: &str,
        bytes: u64,
    ) -> Result<&'s wgpu::Buffer, EngineError> {
        let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
        self.buffer_in(slot, label, bytes, usage)
    }

    /// A bind group for `layout` from `entries` ([`entry`] for a whole buffer), made inside
    /// error scopes so a mismatch with the shader is an error, not a panic.
    pub fn bind_group(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        entries: &[wgpu::BindGroupEntry],
    ) -> Result<wgpu::BindGroup, EngineError> {
        self.scoped(&format!("binding the {label} buffers"), || {
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout,
                entries,
            })
        })
    }

    /// Give a buffer back (and out of the tally).
    pub fn release(&self, buf: wgpu::Buffer) {
        self.allocated.fetch_sub(buf.size(), Ordering::Relaxed);
        buf.destroy();
    }

    /// Peak bytes of buffers held at once.
    pub fn peak_bytes(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Write `data` into `buf` at `offset` (queued; counted as uploaded bytes).
    pub fn upload(&self, buf: &wgpu::Buffer, offset: u64, data: &[u8]) {
        self.uploaded
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.queue.write_buffer(buf, offset, data);
    }

    /// Bytes uploaded and read back so far.
    pub fn transfers(&self) -> crate::engine::Transfers {
        crate::engine::Transfers {
            uploaded: self.uploaded.load(Ordering::Relaxed),
            read_back: self.read_back.load(Ordering::Relaxed),
        }
    }

    /// A compute pipeline for one entry point of a WGSL source (layout from the shader).
    pub fn pipeline(
        &self,
        label: &str,
        module: &wgpu::ShaderModule,
        entry: &str,
    ) -> Result<wgpu::ComputePipeline, EngineError> {
        self.pipeline_with(label, module, entry, &[])
    }

    /// The same with values for the shader's `override` constants. Workgroup memory is not
    /// zero-filled by the driver: every shader initialises what it reads.
    pub fn pipeline_with(
        &self,
        label: &str,
        module: &wgpu::ShaderModule,
        entry: &str,
        constants: &[(&str, f64)],
    ) -> Result<wgpu::ComputePipeline, EngineError> {
        self.scoped(&format!("creating pipeline {label}"), || {
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(label),
                    layout: None,
                    module,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants,
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                })
        })
    }

    /// A shader module from assembled WGSL, validated by naga first for a readable error.
    pub fn module(&self, name: &str, src: &str) -> Result<wgpu::ShaderModule, EngineError> {
        super::shaders::validate(name, src).map_err(EngineError::Gpu)?;
        self.scoped(&format!("compiling {name}"), || {
            self.device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(src.into()),
                })
        })
    }

    /// Submit an encoder inside error scopes.
    pub fn submit(&self, what: &str, encoder: wgpu::CommandEncoder) -> Result<(), EngineError> {
        self.scoped(what, || {
            self.queue.submit(Some(encoder.finish()));
        })
    }

    /// Map `buf[..size]` for reading, wait (with a time limit) and copy it out.
    pub fn read(&self, buf: &wgpu::Buffer, size: u64) -> Result<Vec<u8>, EngineError> {
        self.read_with(buf, size, <[u8]>::to_vec)
    }

    /// Map `buf[..size]` for reading, wait (with a time limit) and hand the mapped bytes to `f`.
    /// On any error the mapping is cancelled, so the buffer can be used again.
    pub fn read_with<T>(
        &self,
        buf: &wgpu::Buffer,
        size: u64,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, EngineError> {
        if size == 0 {
            return Ok(f(&[]));
        }
        self.read_back.fetch_add(size, Ordering::Relaxed);
        let slice = buf.slice(..size);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        let waited = self
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(WAIT),
            })
            .map_err(|e| {
                let what = format!(
                    "waiting for {} (limit {} s)",
                    self.describe(),
                    WAIT.as_secs()
                );
                gpu_err(&what, e)
            })
            .and_then(|_| self.check())
            .and_then(|()| match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(gpu_err("reading results back (device lost?)", e)),
                Err(_) => Err(EngineError::Gpu(
                    "the device never answered a read-back".into(),
                )),
            });
        if let Err(e) = waited {
            buf.unmap();
            return Err(e);
        }
        let out = match slice.get_mapped_range() {
            Ok(view) => Ok(f(&view)),
            Err(e) => Err(gpu_err("mapping results", e)),
        };
        buf.unmap();
        out
    }
}

/// Plain-old-data values from read-back bytes (any alignment).
pub fn pod_vec<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
    bytemuck::pod_collect_to_vec(bytes)
}

/// A bind-group entry for a whole buffer.
pub fn entry(binding: u32, buf: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buf.as_entire_binding(),
    }
}

/// `slot`'s value if it was made for `key`, else `make()`'s, kept with `key`: a bind group made
/// once for the buffers it names, and again only when they change.
pub fn made_for<K: PartialEq, V>(
    slot: &mut Option<(K, V)>,
    key: K,
    make: impl FnOnce() -> Result<V, EngineError>,
) -> Result<&V, EngineError> {
    if slot.as_ref().is_none_or(|(k, _)| *k != key) {
        *slot = Some((key, make()?));
    }
    Ok(&slot.as_ref().expect("made above").1)
}
