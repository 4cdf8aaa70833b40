export { packageRoot } from '../core/io/packageRoot';
