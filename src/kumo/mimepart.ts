/** kumo.mimepart (lua-api-more.md §7.3): constructors for MimePart, which lives with the Message binding. */
export { registerMimePart as register } from '../message/mime-part-binding.ts';
