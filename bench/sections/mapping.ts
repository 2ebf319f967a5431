/**
 * Bench section "mapping": evaluation of the mapping collection per customer (normalize, filter, fields,
 * addresses, payload hash: everything `applyCustomerMapping` does, no I/O), with the default file and with a
 * file of five JSONata formulas. In-process; target p95 ≤ 0.2 ms so the mapping stays off the critical path.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bcCustomerSchema, type BcCustomer } from '../../shared/businessCentral/types';
import { applyCustomerMapping, compileMapping, type CustomerMapping, type MappingFile } from '../../shared/mapping';
import type { BenchSection } from '../lib/sections';
import { judged, info, percentile, type Figure } from '../lib/stats';

const ROOT = path.resolve(__dirname, '..', '..');
const CUSTOMERS = 5_000;
const WARM_UP = 1_000;
const ROUNDS = 3;

const perCustomer = (value: number): string => `${value.toFixed(3)} ms`;

/** The default file plus five formulas: FirstName and LastName split, Company, Comment, and one address field. */
export function fiveFormulaMapping(document: MappingFile): CustomerMapping {
  const fields = document.fields.filter((field) => field.destination !== 'FirstName');
  return compileMapping(
    {
      ...document,
      fields: [
        ...fields,
        { type: 'Formula', expression: '$substringBefore(Name, " ")', destination: 'FirstName', required: true },
        { type: 'Formula', expression: '$contains(Name, " ") ? $substringAfter(Name, " ") : ""', destination: 'LastName' },
        { type: 'Formula', expression: 'Type = "Company" ? Name : ""', destination: 'Company' },
        { type: 'Formula', expression: '"BC " & No & " (" & $lowercase(Type) & ")"', destination: 'Comment' },
      ],
      addresses: document.addresses && {
        ...document.addresses,
        fields: [
          ...document.addresses.fields.filter((field) => field.destination !== 'Region'),
          { type: 'Formula', expression: '$uppercase(County)', destination: 'Region' },
        ],
      },
    },
    'bench: five formulas',
  );
}

function customers(): BcCustomer[] {
  const cities = ['Atlanta', 'Savannah', 'Oslo', 'Paris', 'Sydney'];
  return Array.from({ length: CUSTOMERS }, (_, index) =>
    bcCustomerSchema.parse({
      id: `3f2504e0-4f89-11d3-9a0c-${String(index).padStart(12, '0')}`,
      number: String(20_000 + index),
      displayName: `Person${index} Surname${index % 97}`,
      type: 'Person',
      email: `person${index}@contoso.example`,
      addressLine1: `${index} Market Square`,
      city: cities[index % cities.length],
      state: 'GA',
      country: 'US',
      postalCode: String(30_000 + (index % 1000)),
      phoneNumber: index % 3 === 0 ? '+1 404 555 0100' : '',
      blocked: ' ',
      lastModifiedDateTime: '2026-11-25T07:38:44.293Z',
    }),
  );
}

function measure(mapping: CustomerMapping, entities: readonly BcCustomer[]): number[] {
  for (const entity of entities.slice(0, WARM_UP)) applyCustomerMapping(entity, mapping);
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const entity of entities) {
      const start = performance.now();
      const outcome = applyCustomerMapping(entity, mapping);
      times.push(performance.now() - start);
      if (outcome.kind !== 'mapped') throw new Error(`bench customer ${entity.number} was ${outcome.kind}`);
    }
  }
  return times;
}

function measureMapping(): Figure[] {
  const section = 'mapping evaluation per customer';
  const document = JSON.parse(readFileSync(path.join(ROOT, 'mappings', 'customer-to-ipaas.json'), 'utf8')) as MappingFile;
  const entities = customers();
  const figures: Figure[] = [];
  for (const [name, mapping] of [
    ['default file', compileMapping(document, 'bench: default file')],
    ['file with 5 formulas', fiveFormulaMapping(document)],
  ] as const) {
    const times = measure(mapping, entities);
    figures.push(
      info(section, `${name} p50`, perCustomer(percentile(times, 50)), percentile(times, 50)),
      judged(section, `${name} p95`, percentile(times, 95), perCustomer, { max: 0.2 }, `${times.length} evaluations`),
    );
  }
  return figures;
}

export const mappingSection: BenchSection = {
  name: 'mapping',
  title: 'mapping evaluation per customer',
  needs: 'none',
  run: () => measureMapping(),
};
