/** The schema of a shop (issue 15: shop ids are [a-z0-9-]{1,40}; '-' becomes '_', which ids never hold, so two shops never share one). */
export const schemaForShop = (shopId: string) => `shop_${shopId.replace(/-/g, '_')}`;
