/** The mapping collection file (CUSTOMER_MAPPING_FILE, or a company's own), loaded, checked and compiled. */
import path from 'node:path';
import { appRoot, DEFAULT_MAPPING_FILE, loadMappingFile, MappingFileError, type CustomerMapping } from '../mapping/mappingFile';
import { ConfigError, type Environment } from './configError';

export interface MappingConfig {
  /** Absolute path of the file. */
  file: string;
  /** Whether it is the shipped default file. */
  isDefault: boolean;
  mapping: CustomerMapping;
}

/** A company's own mapping file, resolved like CUSTOMER_MAPPING_FILE (absolute, or relative to the app's root). */
export function loadCompanyMapping(configured: string): MappingConfig {
  const file = path.resolve(appRoot(), configured);
  return { file, isDefault: false, mapping: loadMappingFile(file, configured) };
}

/**
 * The mapping collection alone, as the host loads it at start: CUSTOMER_MAPPING_FILE (absolute, or relative to
 * the app's root folder, the one holding host.json), else the shipped default. A missing or bad file is a
 * ConfigError whose message names the file, the entry (`fields[3].expression`) and, for an expression, the position.
 */
export function loadMappingConfig(env: Environment = process.env): MappingConfig {
  const configured = env.CUSTOMER_MAPPING_FILE?.trim();
  const root = appRoot();
  const file = path.resolve(root, configured || DEFAULT_MAPPING_FILE);
  try {
    return { file, isDefault: !configured, mapping: loadMappingFile(file, configured || DEFAULT_MAPPING_FILE) };
  } catch (error) {
    if (!(error instanceof MappingFileError)) throw error;
    throw new ConfigError([{ setting: 'CUSTOMER_MAPPING_FILE', problem: `(${error.message})` }], MAPPING_HINT);
  }
}

const MAPPING_HINT = 'Fix the mapping file (mappings/customer-mapping.schema.json describes it) or point CUSTOMER_MAPPING_FILE at a good one.';
