/** Text-format WebAssembly to binary with wabt (a devDependency: only the build script and tests use it). */
export async function assembleWat(source: string, filename: string): Promise<Uint8Array> {
  const init = (await import('wabt')).default as unknown as () => Promise<{
    parseWat: (
      name: string,
      text: string,
      features: Record<string, boolean>,
    ) => {
      validate: () => void;
      toBinary: (o: Record<string, boolean>) => { buffer: Uint8Array };
      destroy: () => void;
    };
  }>;
  const wabt = await init();
  const mod = wabt.parseWat(filename, source, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    mod.destroy();
  }
}
