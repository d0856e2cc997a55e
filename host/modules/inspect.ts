// Reads a module's imports, exports, memory and data segments with binaryen, without running it.
import binaryen from 'binaryen';

type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'ref';

export interface FunctionSignature {
  params: ValueType[];
  results: ValueType[];
}
export interface ImportedFunction extends FunctionSignature {
  module: string;
  name: string;
}
export interface DataSegment {
  offset: number;
  length: number;
  passive: boolean;
}
/** What binaryen reads out of a module's bytes before anything of it runs. */
export interface ModuleInspection {
  functionImports: ImportedFunction[];
  otherImports: { module: string; name: string; kind: 'global' | 'table' | 'memory' }[];
  memory: { imported: boolean; module?: string; name?: string; initialPages: number; maxPages?: number; shared: boolean } | null;
  exports: Map<string, { kind: 'function' | 'memory' | 'global' | 'table' | 'tag'; signature?: FunctionSignature }>;
  dataSegments: DataSegment[];
  hasStart: boolean;
}

const typeName = (t: number): ValueType => {
  switch (t) {
    case binaryen.i32:
      return 'i32';
    case binaryen.i64:
      return 'i64';
    case binaryen.f32:
      return 'f32';
    case binaryen.f64:
      return 'f64';
    case binaryen.v128:
      return 'v128';
    default:
      return 'ref';
  }
};
const expand = (t: number): ValueType[] => (t === binaryen.none ? [] : binaryen.expandType(t).map(typeName));

const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

/**
 * Reads a module with binaryen. Node 20 cannot report an imported memory's limits, and data
 * segment offsets are only visible this way (docs/MEASUREMENTS.md). Throws when the bytes don't parse.
 */
export function inspectModule(bytes: Uint8Array): ModuleInspection {
  const mod = binaryen.readBinary(bytes);
  try {
    const functionImports: ImportedFunction[] = [];
    const signatures = new Map<string, FunctionSignature>();
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
      const signature = { params: expand(info.params), results: expand(info.results) };
      signatures.set(info.name, signature);
      if (info.module) functionImports.push({ module: info.module, name: info.base ?? '', ...signature });
    }
    const otherImports: ModuleInspection['otherImports'] = [];
    for (let i = 0; i < mod.getNumGlobals(); i++) {
      const info = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
      if (info.module) otherImports.push({ module: info.module, name: info.base ?? '', kind: 'global' });
    }
    for (let i = 0; i < mod.getNumTables(); i++) {
      const info = binaryen.getTableInfo(mod.getTableByIndex(i));
      if (info.module) otherImports.push({ module: info.module, name: info.base ?? '', kind: 'table' });
    }
    let memory: ModuleInspection['memory'] = null;
    if (mod.hasMemory()) {
      // binaryen's typings lag its runtime (docs/MEASUREMENTS.md): read the fields defensively.
      const info = mod.getMemoryInfo() as unknown as {
        module?: string;
        base?: string;
        initial: number;
        max?: number;
        shared: boolean;
      };
      memory = {
        imported: Boolean(info.module),
        ...(info.module ? { module: info.module, name: info.base ?? '' } : {}),
        initialPages: info.initial,
        ...(info.max !== undefined ? { maxPages: info.max } : {}),
        shared: info.shared,
      };
    }
    const exports: ModuleInspection['exports'] = new Map();
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = binaryen.getExportInfo(mod.getExportByIndex(i));
      const kind = EXPORT_KINDS[info.kind] ?? 'function';
      const signature = kind === 'function' ? signatures.get(info.value) : undefined;
      exports.set(info.name, signature ? { kind, signature } : { kind });
    }
    const dataSegments: DataSegment[] = [];
    const m = mod as unknown as {
      getNumDataSegments(): number;
      getDataSegmentByIndex(i: number): number;
      getDataSegmentInfo(ref: number): { offset: number; data: ArrayBuffer; passive: boolean };
    };
    for (let i = 0; i < m.getNumDataSegments(); i++) {
      const info = m.getDataSegmentInfo(m.getDataSegmentByIndex(i));
      dataSegments.push({ offset: info.offset, length: info.data.byteLength, passive: info.passive });
    }
    const hasStart = !!(mod as unknown as { getStart?: () => number }).getStart?.();
    return { functionImports, otherImports, memory, exports, dataSegments, hasStart };
  } finally {
    mod.dispose();
  }
}
