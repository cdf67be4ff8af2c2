export const placeholder = 'ring-buffer';
