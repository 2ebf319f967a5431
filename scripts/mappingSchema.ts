/**
 * `npm run mapping:schema`: writes mappings/customer-mapping.schema.json from the mapping file's zod schema
 * (shared/mapping/mappingFile.ts), so editors complete and check the file exactly as the sync checks it.
 * test/mapping/mappingSchema.test.ts fails when the committed file and the zod schema disagree.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { mappingFileSchema } from '../shared/mapping/mappingFile';

export const SCHEMA_FILE = path.resolve(__dirname, '..', 'mappings', 'customer-mapping.schema.json');

/** The JSON Schema text of the mapping file, as committed. */
export function mappingJsonSchemaText(): string {
  const generated = z.toJSONSchema(mappingFileSchema, { io: 'input', target: 'draft-2020-12' });
  const schema = { ...generated, $id: 'customer-mapping.schema.json' };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(SCHEMA_FILE, mappingJsonSchemaText());
  console.log(`${path.relative(process.cwd(), SCHEMA_FILE)} written`);
}
