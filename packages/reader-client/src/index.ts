export const placeholder = 'reader-client';
