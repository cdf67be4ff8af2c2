export const placeholder = 'protocol';
