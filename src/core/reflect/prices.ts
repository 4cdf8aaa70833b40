/**
 * What teacher calls cost in money: a small price table per model (`teacher-prices.json`, shipped
 * with Sift), which a price file of the user's own extends or overrides model by model. Used to
 * show the cost of a run before it starts, synchronously and as a Batch API run.
 */
import { readFile } from 'node:fs/promises';
import builtIn from './teacher-prices.json';

/** US dollars (or `currency`) per 1M tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** The share of the price the Batch API takes off (0.5: half the price). */
  batchDiscount: number;
}

export interface PriceTable {
  currency: string;
  /** When the prices were copied (shown with every estimate: prices change). */
  asOf: string;
  /** Where the table came from: `built-in`, or the price file's path. */
  source: string;
  models: Record<string, ModelPrice>;
}

export interface CostEstimate {
  currency: string;
  /** The price list entry used (the model itself, or its longest listed prefix). */
  priced: string;
  price: ModelPrice;
  /** The whole run as synchronous calls, and as Batch API requests. */
  sync: number;
  batch: number;
  asOf: string;
  source: string;
}

export class PriceFileError extends Error {
  override name = 'PriceFileError';
}

/** The table shipped with Sift. */
export const BUILT_IN_PRICES: PriceTable = parsePriceTable(builtIn, 'built-in');

/**
 * A price table from its JSON: `{ currency?, asOf?, batchDiscount?, models: { NAME: { input,
 * output, batchDiscount? } } }`. A field of the wrong kind is an error naming it.
 */
export function parsePriceTable(value: unknown, source: string): PriceTable {
  const where = source === 'built-in' ? 'the built-in price table' : `price file ${source}`;
  if (!isObject(value)) throw new PriceFileError(`${where}: expected a JSON object with "models"`);
  const currency = optionalString(value, 'currency', where) ?? 'USD';
  const asOf = optionalString(value, 'asOf', where) ?? '';
  const defaultDiscount = value.batchDiscount === undefined ? 0.5 : share(value.batchDiscount, `${where}: batchDiscount`);
  if (!isObject(value.models)) throw new PriceFileError(`${where}: "models" must be an object of model names`);
  const models: Record<string, ModelPrice> = {};
  for (const [name, entry] of Object.entries(value.models)) {
    const at = `${where}: models["${name}"]`;
    if (!isObject(entry)) throw new PriceFileError(`${at} must be an object { "input": …, "output": … }`);
    models[name] = {
      input: amount(entry.input, `${at}.input`),
      output: amount(entry.output, `${at}.output`),
      batchDiscount: entry.batchDiscount === undefined ? defaultDiscount : share(entry.batchDiscount, `${at}.batchDiscount`),
    };
  }
  return { currency, asOf, source, models };
}

/** Reads a price file; its models are added to (and replace those of) `base`. */
export async function loadPriceFile(path: string, base: PriceTable = BUILT_IN_PRICES): Promise<PriceTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PriceFileError(`price file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PriceFileError(`price file ${path}: not JSON (${(error as Error).message})`);
  }
  const own = parsePriceTable(value, path);
  // A table in another currency replaces the base one rather than mixing currencies.
  if (own.currency !== base.currency) return own;
  return { currency: base.currency, asOf: own.asOf || base.asOf, source: path, models: { ...base.models, ...own.models } };
}

/** The price of a model: its own entry, or the longest listed name it starts with followed by `-` (a dated snapshot). */
export function priceOf(table: PriceTable, model: string): { priced: string; price: ModelPrice } | undefined {
  const own = table.models[model];
  if (own) return { priced: model, price: own };
  let best: string | undefined;
  for (const name of Object.keys(table.models)) {
    if (model.startsWith(`${name}-`) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : { priced: best, price: table.models[best] };
}

/** What `tokens` cost with `model`, synchronously and as a batch; undefined for a model with no price. */
export function estimateCost(table: PriceTable, model: string, tokens: { promptTokens: number; completionTokens: number }): CostEstimate | undefined {
  const found = priceOf(table, model);
  if (!found) return undefined;
  const { price } = found;
  const sync = (tokens.promptTokens * price.input + tokens.completionTokens * price.output) / 1_000_000;
  return { currency: table.currency, priced: found.priced, price, sync, batch: sync * (1 - price.batchDiscount), asOf: table.asOf, source: table.source };
}

/** An amount for people: `$0.42`, `$0.0031`, `12.50 EUR`. */
export function formatMoney(amount: number, currency: string): string {
  const digits = amount === 0 ? 2 : amount < 0.01 ? 4 : 2;
  const text = amount.toFixed(digits);
  return currency === 'USD' ? `$${text}` : `${text} ${currency}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: Record<string, unknown>, field: string, where: string): string | undefined {
  const v = value[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new PriceFileError(`${where}: "${field}" must be a string`);
  return v;
}

function amount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new PriceFileError(`${what} must be a price per 1M tokens (a number ≥ 0), got ${JSON.stringify(value)}`);
  return value;
}

function share(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 1) throw new PriceFileError(`${what} must be a fraction from 0 to below 1 (0.5: half the price), got ${JSON.stringify(value)}`);
  return value;
}
